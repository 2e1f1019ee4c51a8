"""Fault injection, end to end on the virtual trainer: the runs that faultrun.py lists."""
