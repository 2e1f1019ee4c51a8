"""What the link reports: its errors, the trainer's refusals in words, and records lost for good."""

from __future__ import annotations

from dataclasses import dataclass

from softcrank_fw import protocol as P

NAK_MEANINGS = {
    "BADCRC": "the frame arrived damaged",
    "SYNTAX": "not a frame",
    "TOOLONG": "the frame is too long",
    "UNKNOWN": "the trainer does not take that command",
    "ARGS": "wrong number or kind of values",
    "RANGE": "a value outside what the trainer accepts",
    "STATE": "not possible in the trainer's current state",
    "GONE": "the trainer no longer holds that record",
    "VERSION": "another protocol version",
    "AUTH": "not signed with this trainer's key",
    "STALE": "an old caps request sent again (a replay)",
    "NOKEY": "the trainer has no key: softcrank deploy writes one",
    "UNSAVED": "the trainer could not save the caps",
    "LOADED": "the pedals must be unloaded and still to tare: feet off, wait a second",
}


class LinkError(RuntimeError):
    """The link cannot do what was asked: not connected, no answer, the link was lost."""


class ProtocolMismatch(LinkError):
    """The trainer will not talk to this softcrank (another protocol version): retrying will
    not help, so the link closes."""


class Overtaken(LinkError):
    """An urgent command (ESTOP, PAUSE) went while this one waited for its answer: it is not
    sent again, since the firmware would take its resend for a new command."""

    def __init__(self, type_: str) -> None:
        super().__init__("%s was not sent again: an emergency stop or pause went first" % type_)
        self.type = type_


class CommandRefused(LinkError):
    def __init__(self, type_: str, code: str) -> None:
        super().__init__("the trainer refused %s: %s (%s)" % (type_, code, NAK_MEANINGS.get(code, "?")))
        self.type = type_
        self.code = code


@dataclass(frozen=True)
class Lost:
    """Records the link could not fetch: `count` of them from `first` (None: unknown).

    The range is the host's own arithmetic, never the firmware's LOST events (one a sample
    while the ring overwrites, so thousands for one gap): `first` is the first record the host
    lacked (the one after the newest it had handed to its sink, stored or about to be), and
    for "overwritten" `count` runs up to the record before the first one the trainer replayed
    after answering REPLAY with GONE. After a restart the old numbering is gone with the
    trainer's memory: the first missing record is known, the last is not."""

    first: int
    count: int | None
    reason: str  # "overwritten": the ring reused them before a REPLAY fetched them;
    # "restart": the trainer rebooted (or another one is on the port), so its ring started again

    @property
    def last(self) -> int | None:
        """The last record missing, or None when the trainer restarted (unknowable)."""
        if self.count is None:
            return None
        return (self.first + self.count - 1) % P.REC_MODULO

    def words(self) -> str:
        """One line for a person: the true first and last record missing, and why."""
        if self.count is None:
            return ("records from %d on could not be fetched: the trainer restarted, so its records began again "
                    "at 0 and the ones it made before that are gone (how many is unknown)" % self.first)
        if self.count == 1:
            return "record %d could not be fetched: the trainer no longer held it" % self.first
        return ("records %d-%d (%d) could not be fetched: the trainer no longer held them"
                % (self.first, self.last, self.count))
