"""The virtual trainer's simulated hardware: a rider and sensors, MicroPython-compatible."""
