"""The softcrank app (Textual): Connect, Patient, Therapist, Ride, Review and Progress.

`softcrank` opens it; `softcrank demo` opens it on the virtual trainer with a demo patient.
"""

from .app import SoftcrankApp

__all__ = ["SoftcrankApp"]
