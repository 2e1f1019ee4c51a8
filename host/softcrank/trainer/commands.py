"""One ordered queue of commands per trainer, shared by the app and `softcrank ride`.

Whoever asks first is sent first: one worker thread takes jobs in the order they were
submitted, and a job of several commands (GOALS then START) goes as one, stopping at the
first that fails. Callers never block: submit() returns a Job to wait on, or a callback
hears the outcome.

ESTOP and PAUSE jump the queue. They go from their own thread straight onto the wire with
`Link.command(urgent=True)`, which overtakes the command, heartbeat or REPLAY in flight
instead of waiting out its retries (up to 4 x 0.5 s). An ESTOP also drops the jobs still
waiting: a START typed before the stop must not run after it. `softcrank bench` measures an
ESTOP's time from submit() to the wire with the link busy (verify/bench/estop.py).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Sequence

from .errors import LinkError
from .link import URGENT

__all__ = ["CommandQueue", "Job", "URGENT"]

Step = tuple  # (type, *values)


class Job:
    """Commands sent one after the other. `error` is None once all were answered with A, or
    why it stopped, in words; `frames` are each command's answer frames."""

    def __init__(self, steps: Sequence[Step], done: Callable[["Job"], object] | None = None) -> None:
        self.steps = [tuple(step) for step in steps]
        self.name = " + ".join(step[0] for step in self.steps)
        self.submitted = time.monotonic()
        self.frames: list = []
        self.error: str | None = None
        self.exception: LinkError | None = None  # what stopped it (CommandRefused carries the N code)
        self._done_cb = done
        self._done = threading.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> list:
        """Wait for the job; raises LinkError with its error, or returns the answers' frames."""
        if not self._done.wait(timeout):
            raise LinkError("%s is still waiting its turn" % self.name)
        if self.exception is not None:
            raise self.exception
        if self.error is not None:
            raise LinkError(self.error)
        return self.frames

    def _finish(self, error: str | None, exception: LinkError | None = None) -> None:
        self.error, self.exception = error, exception
        self._done.set()
        if self._done_cb is not None:
            try:
                self._done_cb(self)
            except Exception:  # a caller's callback never stops the queue
                pass


class CommandQueue:
    """The commands for the link that `link()` returns now (None: not connected)."""

    def __init__(self, link: Callable[[], object]) -> None:
        self._link = link
        self._jobs: deque[Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="softcrank-commands", daemon=True)
        self._worker.start()

    def submit(self, *steps: Step, done: Callable[[Job], object] | None = None) -> Job:
        """Queue a job of one or more (type, *values) steps. A job that is one ESTOP or PAUSE
        goes at once, ahead of everything; an ESTOP drops the jobs still waiting."""
        job = Job(steps, done)
        if len(job.steps) == 1 and job.steps[0][0] in URGENT:
            dropped = []
            if job.steps[0][0] == "ESTOP":
                with self._cond:
                    dropped, self._jobs = list(self._jobs), deque()
            threading.Thread(target=self._send, args=(job,), name="softcrank-urgent", daemon=True).start()
            for old in dropped:
                old._finish("%s was not sent: the emergency stop came first" % old.name)
            return job
        with self._cond:
            if self._closed:
                job._finish("%s was not sent: the trainer is closed" % job.name)
                return job
            self._jobs.append(job)
            self._cond.notify()
        return job

    def command(self, type_: str, *values, timeout: float | None = None) -> list:
        """Submit one command and wait for it, as Link.command does (raises LinkError, or
        CommandRefused with the trainer's code): for a caller that has nothing else to do."""
        return self.submit((type_, *values)).result(timeout)[0]

    def pending(self) -> int:
        """Jobs waiting their turn (not counting the one being sent)."""
        with self._cond:
            return len(self._jobs)

    def close(self) -> None:
        """Stop taking jobs; those still waiting finish with an error."""
        with self._cond:
            self._closed = True
            dropped, self._jobs = list(self._jobs), deque()
            self._cond.notify_all()
        for job in dropped:
            job._finish("%s was not sent: the trainer is closed" % job.name)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._jobs or self._closed)
                if self._closed:
                    return
                job = self._jobs.popleft()
            self._send(job)

    def _send(self, job: Job) -> None:
        link = self._link()
        if link is None:
            job._finish("no trainer connected: choose one on the Connect screen")
            return
        try:
            for type_, *values in job.steps:
                job.frames.append(link.command(type_, *values, urgent=type_ in URGENT and len(job.steps) == 1))
        except LinkError as e:  # CommandRefused and Overtaken too: said in words
            job._finish(str(e), e)
            return
        job._finish(None)
