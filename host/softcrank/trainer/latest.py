"""A one-slot mailbox where the newest value wins: how telemetry reaches a screen."""

from __future__ import annotations

import threading
from typing import Any


class Latest:
    """A one-slot mailbox where the newest value wins: put() never waits, so a slow screen
    never slows the reader; a reader of the slot just sees fewer, newer values."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: Any = None
        self._fresh = False

    def put(self, value: Any) -> None:
        with self._cond:
            self._value = value
            self._fresh = True
            self._cond.notify_all()

    def peek(self) -> Any:
        return self._value

    def take(self, timeout: float | None = None) -> Any:
        """The newest value not taken yet, waiting up to `timeout`; None if none came."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._fresh, timeout):
                return None
            self._fresh = False
            return self._value
