"""The link's timings: one definition, used by `softcrank ride`, the app and the tools.

The numbers, and why:

- HEARTBEAT_S = 0.5: the trainer stops resistance rising after 3 s without a valid command
  from the host and pauses the session after 10 s (docs/protocol.md). A beat every 0.5 s
  means five beats in a row must go missing (or the laptop stall for 2.5 s) before the rider
  even feels the hold. Cost: two frames of about 20 bytes and their answers a second, under
  1 % of a 115200-baud UART.
- SILENCE_S = 3.0: the trainer sends telemetry always, at 1..50 Hz, idle too. Nothing valid
  for 3 s is at least three missed samples at the slowest rate: the link is gone, even when
  the port raises nothing (a wedged hub, the virtual trainer's unplug()).
- ANSWER_TIMEOUT_S = 0.5 and RETRIES = 3: the firmware answers within its 10 ms control tick,
  before it sends that tick's records, so 0.5 s is 50 ticks of slack; four tries take 2 s,
  well inside the 3 s hold.
- BACKOFF_MIN_S = 0.2 doubling to BACKOFF_MAX_S = 5: a Pico plugged back in re-enumerates in
  about a second, which the first tries (0.2, 0.4, 0.8 s) catch; a trainer gone for long
  costs one attempt every 5 s. The ring holds 3072 records (5.1 min at 10 Hz, 61 s at
  50 Hz): an outage shorter than that, plus at most 5 s of back-off, loses nothing.

A virtual trainer (`softcrank sim --speed X`, the demo) runs its clock X times real time, so
the firmware's 3 s hold and 10 s pause are X times shorter in real seconds; link_timings(X)
scales the link's real-time numbers by the same factor, so they keep their meaning against
the trainer's clock. Two of them keep a floor in real seconds, because the operating
system's scheduling does not speed up with the trainer: a busy laptop can leave a reader
thread unscheduled for a few hundred milliseconds whatever the trainer's speed.

- silence: SILENCE_S / X, never under SILENCE_FLOOR_S = 0.5 real s. At 10x that is the floor,
  0.5 real s = 5 virtual s: still before the trainer's 10 s pause, so the host notices a lost
  link before the rider does; 0.3 real s would report a loaded machine as a lost cable.
- answer: ANSWER_TIMEOUT_S / X, never under ANSWER_FLOOR_S = 0.1 real s: a resend is cheap
  (the firmware answers a resent seq without applying it twice), a late answer only costs one.
- heartbeat: HEARTBEAT_S / X, no floor: beating faster is harmless (two 20-byte frames per
  beat), beating slower than the trainer's clock would make it hold.

Until this module, `softcrank ride` used SILENCE_S / X and the app max(9 / X, 0.5): the app's
link waited three times longer (in virtual seconds) to call a silent trainer lost, and the two
tools disagreed about the same cable. Both now call link_timings.
"""

from __future__ import annotations

HEARTBEAT_S = 0.5
SILENCE_S = 3.0
ANSWER_TIMEOUT_S = 0.5
RETRIES = 3
BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 5.0
SILENCE_FLOOR_S = 0.5
ANSWER_FLOOR_S = 0.1


def link_timings(speed: float) -> dict:
    """Keyword arguments for Link: its timings for a trainer whose clock runs `speed` times
    real time (1: a real trainer, the link's defaults)."""
    if not speed > 0:
        raise ValueError("the speed must be above 0, got %r" % (speed,))
    return {"heartbeat_s": HEARTBEAT_S / speed, "silence_s": max(SILENCE_S / speed, SILENCE_FLOOR_S),
            "answer_timeout_s": max(ANSWER_TIMEOUT_S / speed, ANSWER_FLOOR_S)}
