"""What the host does by itself during a session, the same in `softcrank ride` and the app.

A pause the trainer made because the laptop went silent (cable out, host restarted, a
stalled laptop) is resumed once the link is back: the host caused it, not the rider, and the
firmware builds resistance up again gently from zero. Pauses for any other reason (the
rider's, overspeed, several spasms) are left alone: they are the rider's rest. One RESUME per
pause, and only on live telemetry (not on records replayed from the pause), so a link that
comes back with the trainer's backlog does not resume the same pause twice.
"""

from __future__ import annotations

from softcrank_fw import protocol as P

from ..frames import Frame
from ..store.ridelog import RideLog


class SilenceResume:
    """Follows a session's PAUSE and RESUME events; due() says when to send RESUME."""

    def __init__(self, host_paused: int | None = None) -> None:
        self.host_paused = host_paused  # the rec of the standing pause for host silence
        self.resumed_at: int | None = None  # the PAUSE this host answered with RESUME

    @classmethod
    def from_log(cls, ridelog: RideLog, session: int) -> "SilenceResume":
        """Carry on with a session already in the ride log (this host restarted mid-pause)."""
        last = [e for e in ridelog.events(session) if e.event in ("PAUSE", "RESUME")][-1:]
        if last and last[0].event == "PAUSE" and last[0].arg == P.PAUSE_HOST_SILENT:
            return cls(last[0].rec)
        return cls()

    def event(self, frame: Frame) -> None:
        """Every E record of the session, in order."""
        if frame["event"] == "PAUSE":
            self.host_paused = frame["rec"] if frame["arg"] == P.PAUSE_HOST_SILENT else None
        elif frame["event"] == "RESUME":
            self.host_paused = None

    def due(self, frame: Frame, link) -> bool:
        """True (once per pause) when `frame`, the newest telemetry, shows the trainer paused for
        this host's silence and the link is back: the caller sends RESUME."""
        if (frame["state"] == "P" and self.host_paused is not None and self.host_paused != self.resumed_at
                and link.state == "connected" and link.latest() is frame):
            self.resumed_at = self.host_paused
            return True
        return False
