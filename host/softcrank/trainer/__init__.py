"""The trainer from the host's side: the serial link, the recorder that stores what it sends,
the session's own rules, and the therapist's signed caps."""
