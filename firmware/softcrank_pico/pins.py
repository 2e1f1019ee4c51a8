"""The pin map: which GPIO does what, read from pinmap.json (hardware/pinmap.json in the repo,
copied to the board's root by `softcrank deploy`). That file is the single source of truth;
this module only names what the Pico board needs from it and checks it is there.
"""

import json

FORMAT = 1

# Every pin the Pico board drives or reads, and how it uses it.
REQUIRED = {
    "crank_a": "input",  # quadrature channel A; crank_b must be crank_a + 1 (one PIO program reads both)
    "crank_b": "input",
    "load_left_dout": "input",  # HX711-class ADC of the left pedal: data out
    "load_left_sck": "output",  # ... and its clock
    "load_right_dout": "input",
    "load_right_sck": "output",
    "brake_pwm": "pwm",  # MOSFET gate of the brake, pulled down in hardware
    "estop": "input",  # normally-closed e-stop: high (open) means pressed or a cut wire
    "led": "output",  # status LED
    "buzzer": "pwm",  # piezo buzzer for audible cues
}


class PinMapError(ValueError):
    pass


def parse(doc):
    """Check a decoded pinmap.json; returns (gpio by name, edges_per_rev)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PinMapError("pinmap.json: not a format %d pin map" % FORMAT)
    pins = doc.get("pins")
    if not isinstance(pins, dict):
        raise PinMapError("pinmap.json: no 'pins' object")
    gpio = {}
    for name, mode in REQUIRED.items():
        entry = pins.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("gpio"), int):
            raise PinMapError("pinmap.json: pin %s is missing or has no gpio number" % name)
        if entry.get("mode") != mode:
            raise PinMapError("pinmap.json: pin %s must be mode %s" % (name, mode))
        gpio[name] = entry["gpio"]
    if gpio["crank_b"] != gpio["crank_a"] + 1:
        raise PinMapError("pinmap.json: crank_b must be the GPIO after crank_a")
    edges = doc.get("edges_per_rev")
    if not isinstance(edges, int) or not 1 <= edges <= 360:
        raise PinMapError("pinmap.json: edges_per_rev must be 1..360")
    return gpio, edges


def load(path="pinmap.json"):
    with open(path) as f:
        return parse(json.load(f))
