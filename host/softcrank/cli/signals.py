"""Ctrl-C and a service manager's stop, for the commands that run until told to end."""


def _interrupted(signum, frame):
    raise KeyboardInterrupt
