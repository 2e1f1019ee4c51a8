"""Putting the firmware onto a board: `softcrank deploy` (flash.py)."""

from .flash import DeployError, check_free, deploy

__all__ = ["DeployError", "check_free", "deploy"]
