"""`softcrank demo`: the real firmware on MicroPython with a virtual rider, ridden to the end.

The firmware runs unchanged under the `micropython` command on the simulated board; this
process is the host: it does the handshake, sets the goals, starts the session, acknowledges
records as it stores them, and prints what a rider would see. Every record number is checked,
so the closing line says whether anything went missing on the way.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from typing import Callable, TextIO

from softcrank_fw import protocol as P

from ..boardfiles import scenario_path
from ..clinical import words as console
from ..frames import Commander, Frame, FrameError, parse
from ..trainer.therapist import caps_tag, with_patient
from ..boardfiles.interpreter import environment, micropython

# DEMO ONLY: the CAPS key of the demo's virtual trainer. It is public (it is right here), so it
# protects nothing: never put it on a real trainer. `softcrank deploy` writes a random key.
DEMO_KEY = bytes.fromhex("de30" * 16)
ACK_EVERY = 10  # records: about once a virtual second at 10 Hz, which is also the heartbeat
REST_BEFORE_RESUME_S = 15  # a paused demo rider rests this long, then presses resume


class DemoError(RuntimeError):
    pass


def run_demo(work_min: int = 5, speed: float = 60.0, seed: int | None = None, scenario: str | None = None,
             every_s: int = 30, out: TextIO | None = None, heap: str | None = None,
             caps: list[int] | None = None, tap: Callable[[Frame], object] | None = None) -> dict:
    """Ride one session on the virtual trainer; returns figures about the run.

    `heap` sets the interpreter's heap (e.g. "160K", a tighter budget than a Pico's);
    `caps` sets the therapist's caps first (the CAPS fields, in order), signed with DEMO_KEY.
    The board's flash is a temporary folder holding DEMO_KEY: nothing lands in the current one.
    `tap(frame)` sees every frame the firmware sends, in order (demo_history stores them)."""
    out = out if out is not None else sys.stdout  # looked up now: whoever redirected it since import
    cmd = [micropython()] + (["-X", "heapsize=" + heap] if heap else []) + [
        "-m", "softcrank_sim.main", "--speed", str(speed),
           "--scenario", scenario or str(scenario_path("demo"))]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    flash = tempfile.mkdtemp(prefix="softcrank-demo-")
    with open(flash + "/device.key", "w") as f:
        f.write(DEMO_KEY.hex() + "\n")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment(), cwd=flash)
    try:
        frames = _reader(proc.stdout)
        if tap is not None:
            frames = _tapped(frames, tap)
        return ride(_pipe_sender(proc), frames, work_min, every_s, out.write, caps)
    finally:
        if proc.stdin and not proc.stdin.closed:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(flash, ignore_errors=True)


def _pipe_sender(proc: subprocess.Popen) -> Callable[[bytes], None]:
    def send(frame: bytes) -> None:
        proc.stdin.write(frame)
        proc.stdin.flush()

    return send


def ride(send_bytes: Callable[[bytes], object], frames, work_min: int, every_s: int,
         write: Callable[[str], object], new_caps: list[int] | None = None,
         timeout_s: float | None = None, key: bytes = DEMO_KEY) -> dict:
    """Drive one session over any link: `send_bytes(frame)` out, `frames` (decoded) in.

    `new_caps` go out signed with `key` (the trainer's; DEMO_KEY on the demo's), with the
    counter after the one the trainer reported.

    Returns figures about the run, and the events seen, in order. `timeout_s`: give up
    (DemoError) after that long by the wall clock."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    frames = _until(frames, deadline)
    send = Commander()
    events: list[tuple[str, int]] = []

    def command(type_, *values):
        seq = send.seq
        send_bytes(send(type_, *values))
        return seq

    hello = command("HELLO", P.PROTOCOL_VERSION)
    info = _await_answer(frames, hello)
    if info["N"] is not None:
        raise DemoError("the firmware refused the handshake: %s" % info["N"]["code"])
    if new_caps is not None:
        new_caps = with_patient(new_caps, 0)
        device, counter = info["H"]["device"], info["C"]["counter"] + 1
        answer = _await_answer(frames, command("CAPS", *new_caps, counter, caps_tag(key, device, counter, new_caps)))
        if answer["N"] is not None:
            raise DemoError("the firmware refused the caps: %s" % answer["N"]["code"])
        info.update((k, v) for k, v in answer.items() if v is not None and k in ("C", "G"))
        write("caps set by a signed CAPS (counter %d; the demo-only key)\n" % counter)
    h, goals = info["H"], info["G"]
    write("softcrank demo: firmware %s (protocol %d) on MicroPython, a virtual rider\n" % (h["fw"], h["proto"]))
    caps = info["C"]
    write("caps: resistance <= %d %%, cadence <= %d rpm, session <= %d min,\n"
          "      ramp %d %%/min, spasm at %d N left, %d N right\n"
          % (caps["max_res_pct"], caps["max_cad_rpm"], caps["max_dur_min"], caps["ramp_pct_min"], caps["spasm_n"],
             caps["spasm_r_n"]))
    goals_seq = command("GOALS", work_min, goals["cad_lo_rpm"], goals["cad_hi_rpm"], goals["res_pct"])
    goals = _await_answer(frames, goals_seq)["G"] or goals
    write("plan: %d min warm-up, %d min work at %d %%, cadence %d-%d rpm, %d min cool-down\n\n"
          % (caps["warmup_s"] // 60, goals["dur_min"], goals["res_pct"], goals["cad_lo_rpm"], goals["cad_hi_rpm"],
             caps["cooldown_s"] // 60))
    write(console.STATUS_HEADER + "\n")
    start_seq = command("START")
    planned_s = caps["warmup_s"] + goals["dur_min"] * 60 + caps["cooldown_s"]
    paused_at = None
    expected = None
    received = missing = 0
    start_ms = None
    next_status = 0
    status = console.Status()
    for frame in frames:
        if frame.type == "N" and frame["ref"] == start_seq:
            raise DemoError("the firmware refused to start: %s" % frame["code"])
        if frame.type not in ("T", "E"):
            continue
        rec = frame["rec"]
        if expected is not None and rec != expected:
            missing += (rec - expected) % P.REC_MODULO
        expected = (rec + 1) % P.REC_MODULO
        received += 1
        if received % ACK_EVERY == 0:
            command("ACK", rec)
        if start_ms is None:
            if frame.type == "E" and frame["event"] == "START":
                start_ms = frame["t_ms"]
            else:
                continue
        elapsed = ((frame["t_ms"] - start_ms) % P.REC_MODULO) // 1000
        if elapsed > 2 * planned_s + 300:
            raise DemoError("the session did not finish in twice its planned time")
        if frame.type == "T" and frame["state"] == "P":
            paused_at = elapsed if paused_at is None else paused_at
            if elapsed - paused_at >= REST_BEFORE_RESUME_S:
                write("%6s >> the rider rested and presses resume\n" % console.clock(elapsed))
                command("RESUME")
                paused_at = None
        elif frame.type == "T":
            paused_at = None
        if frame.type == "E":
            events.append((frame["event"], frame["arg"]))
            write(console.event_line(frame, elapsed) + "\n")
            if frame["event"] == "DONE":
                break
        else:
            status.add(frame)
            if elapsed >= next_status:
                write(status.line(frame, elapsed, goals) + "\n")
                next_status = elapsed - elapsed % every_s + every_s
    else:
        raise DemoError("the virtual trainer stopped before the session was done")
    command("STOP")
    write("\n%d records received in order, %d missing\n" % (received, missing))
    return {"received": received, "missing": missing, "elapsed_s": elapsed, "events": events}


def _reader(lines):
    """Decoded frames from an iterable of lines (a pipe, or a serial port's readline);
    None where a serial read timed out, so a waiting caller can look at the clock."""
    for line in lines:
        if not line:
            yield None
            continue
        try:
            yield parse(line)
        except FrameError:
            continue  # noise on the line: the protocol's sequence numbers show any gap


def _tapped(frames, tap):
    for frame in frames:
        if frame is not None:
            tap(frame)
        yield frame


def serial_frames(port):
    """Decoded frames from a pyserial port, forever (each readline may time out)."""
    return _reader(iter(port.readline, None))


def _until(frames, deadline):
    for frame in frames:
        if deadline is not None and time.monotonic() > deadline:
            raise DemoError("the trainer did not finish in time")
        if frame is not None:
            yield frame


def _await_answer(frames, seq: int) -> dict:
    """Collect frames until the A or N for command `seq`; returns the last of each type."""
    got: dict[str, Frame | None] = {"H": None, "C": None, "G": None, "K": None, "A": None, "N": None}
    for frame in frames:
        if frame.type in got:
            got[frame.type] = frame
        if frame.type in ("A", "N") and frame["ref"] == seq:
            got["A" if frame.type == "A" else "N"] = frame
            if frame.type == "A":
                got["N"] = None
            return got
    raise DemoError("the virtual trainer ended before answering")


def signed_demo_caps(link, caps) -> list:
    """CAPS's values for a Link to a trainer that holds DEMO_KEY (the virtual trainer of the
    demo and the tests): the seven caps, a counter above the trainer's, and the tag."""
    device, counter = link.info["H"]["device"], link.info["C"]["counter"] + 1
    caps = with_patient(caps, 0)
    return caps + [counter, caps_tag(DEMO_KEY, device, counter, caps)]
