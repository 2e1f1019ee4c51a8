"""The ride log in SQLite: patients, caps and plans, the therapist's PIN and keys, sessions,
their records and summaries. RideLog (ridelog.py) composes the parts."""
