"""The firmware's end of the wire: bytes in, commands to the controller, frames out.

`feed(byte)` assembles lines in a buffer allocated once; each complete line is decoded and
answered: a command the controller takes gets `A` (after the new caps, goals or handshake
frames, so A or N always closes an answer), anything else gets `N` with a reason and changes nothing. Bad input never raises out
of here. `pump()` sends the ring's records from the send cursor onwards: live telemetry and
replays are the same mechanism, REPLAY only moves the cursor back. When the ring laps the
cursor (the port took nothing for longer than the ring holds), the records it skips are the
gap the host will see: one `E LOST n` says so, with n the gap's true size, when the first
record after it goes out (once a host has ACKed anything: before that nobody was waiting).

A command that arrives twice with the same frame seq (the host resent it because our answer
was lost) is answered again without being applied again. HELLO resets that memory, so a
restarted host starting again from seq 0 is not mistaken for a resend.

`write(buf, n)` is the board's: it sends buf[:n] and returns False when it cannot take more
right now (the host is not reading), so the control loop never blocks on the port.

CAPS and (protocol 3) CAL are the authenticated commands (capsauth.py): `key` (bytes; None: no key, no caps)
checks its tag, `caps_counter` is the last counter accepted, `save_caps(counter, values)`
(the board's) puts the caps on flash before they apply, and every refusal also goes into the ring as a CAPS_REFUSED event, so the host's ride
log records it. Checking a tag allocates (hashing, strings): it happens on command, outside
the control tick. Its modules must already be imported at start-up (the boards import them):
an import later, on a heap fragmented by hours of telemetry, may find no room for its bytecode
and new interned names (see docs/firmware.md, *Memory*).
"""

from softcrank_fw import FIRMWARE_VERSION
from softcrank_fw import protocol as P
from softcrank_fw.compat import const
from softcrank_fw.ring import EVENT, rec_diff

_NL = const(0x0A)
_IDLE_LINE = const(-1)


class Link:
    def __init__(self, controller, write, device_id="sim", edges_per_rev=0, stats=None, key=None,
                 caps_counter=0, save_caps=None, history=None):
        self.ctl = controller
        self.history = history  # () -> [[counter, s since boot, tag], ...] (capstore.load_history); None: none
        self.key = key  # None: no key, no caps
        self.caps_counter = caps_counter
        self.save_caps = save_caps  # None: caps are not kept across a restart (a test's Link)
        self.write = write
        self.device_id = device_id
        self.stats = stats  # the main loop's TickStats, for STATS
        self.edges_per_rev = edges_per_rev or controller.crank.edges_per_rev
        self.out = P.Writer()
        self.seq = 0  # our frame counter
        self.send_rec = controller.ring.next_rec  # the next record pump() sends
        self.rx = bytearray(P.MAX_FRAME)
        self.rx_n = 0
        self.rx_overflow = False
        self._last_seq = -1  # the last command's seq, type and answer, for resends
        self._last_type = ""
        self._last_code = -1
        self._gap_from = -1  # the first record the lapped cursor skipped, until one after it goes out

    # ----- receiving ------------------------------------------------------------------

    def feed(self, byte):
        """One received byte. Returns True if it completed a line."""
        if byte == _NL:
            if self.rx_overflow:
                self.rx_overflow = False
                self.rx_n = 0
                self._nak(-1, P.NAK_TOOLONG)
            else:
                n = self.rx_n
                self.rx_n = 0
                if n and not (n == 1 and self.rx[0] == 0x0D):  # blank lines are ignored
                    try:
                        self.handle(memoryview(self.rx)[:n])
                    except MemoryError:  # no room even to answer: the host resends or gives up
                        pass
            return True
        if self.rx_n < P.MAX_FRAME - 1:
            self.rx[self.rx_n] = byte
            self.rx_n += 1
        else:
            self.rx_overflow = True
        return False

    def handle(self, line):
        """Decode and answer one line (without its newline)."""
        try:
            type_, seq, values = P.decode(line)
        except P.FrameError as e:
            self._nak(e.ref, e.code)
            return
        except Exception:  # the firmware never crashes on input
            self._nak(-1, P.NAK_SYNTAX)
            return
        if type_ not in P.HOST_MESSAGES:
            self._nak(seq, P.NAK_UNKNOWN)  # our own frames echoed back prove no host is there
            return
        self.ctl.host_seen()
        if type_ == "HELLO":
            self._last_seq = -1
        elif seq == self._last_seq and type_ == self._last_type:
            self._answer(seq, self._last_code)  # a resend: answer again, apply nothing
            return
        try:
            code = self._dispatch(type_, values)
        except Exception:
            code = P.NAK_ARGS
        self._last_seq, self._last_type, self._last_code = seq, type_, code
        if code == 0:
            if type_ == "CAPS":
                self.send_caps()
                self.send_goals()  # goals may have been clamped to the new caps
            elif type_ == "GOALS":
                self.send_goals()
        self._answer(seq, code)  # A or N always closes the answer to a command

    def _dispatch(self, type_, v):
        ctl = self.ctl
        if type_ == "HELLO":
            self.send_hello()
            self.send_caps()
            self.send_goals()
            self.send_calibration()
            return 0 if v[0] == P.PROTOCOL_VERSION else P.NAK_VERSION
        if type_ == "PING":
            return 0
        if type_ == "CAPS":
            return self._caps(v)
        if type_ == "GOALS":
            return ctl.set_goals(v)
        if type_ == "START":
            return ctl.start()
        if type_ == "PAUSE":
            return ctl.pause()
        if type_ == "RESUME":
            return ctl.resume()
        if type_ == "STOP":
            return ctl.stop()
        if type_ == "ESTOP":
            return ctl.estop()
        if type_ == "TARE":
            return ctl.tare()
        if type_ == "CAL":
            return self._cal(v)
        if type_ == "RATE":
            return ctl.set_rate(v[0])
        if type_ == "ACK":
            return self._ack(v[0])
        if type_ == "REPLAY":
            return self._replay(v[0])
        if type_ == "STATS":
            return self._send_stats()
        if type_ == "CAPSLOG":
            return self._send_history()
        return P.NAK_UNKNOWN

    def _caps(self, v):
        """Check, store, then apply: the caps change only if authentic, new, valid and saved."""
        n = len(P.CAPS_FIELDS)
        values, counter = v[:n], v[n]
        code, why = self._authenticate(values, counter, v[n + 1])
        if not code:
            code = self.ctl.caps.validate(values)  # RANGE: refused as before, the counter unused
            if code:
                return code
            if self.save_caps is not None:
                try:
                    self.save_caps(counter, values)
                except Exception:  # OSError: the flash is full or worn; MemoryError
                    code, why = P.NAK_UNSAVED, P.REFUSED_UNSAVED
        if code:
            self.ctl.caps_refused(why)
            return code
        self.caps_counter = counter
        return self.ctl.set_caps(values)

    def _cal(self, v):
        """CAL, protocol 3: authentic and new like CAPS, then within what calibrate() takes;
        the counter is saved (with the caps, unchanged) before the calibration starts."""
        from softcrank_fw.capsauth import check_cal  # imported by the board at start-up

        side, newtons, counter, tag = v
        code, _ = check_cal(self.key, self.caps_counter, self.device_id, side, newtons, counter, tag)
        if not code:
            code = self.ctl.calibration_refused(side, newtons)
        if code:
            return code
        if self.save_caps is not None:
            try:
                self.save_caps(counter, self.ctl.caps.values)
            except Exception:  # OSError, MemoryError: the counter would not survive a reboot
                return P.NAK_UNSAVED
        self.caps_counter = counter
        return self.ctl.calibrate(side, newtons)

    def _authenticate(self, values, counter, tag):
        from softcrank_fw.capsauth import check  # imported by the board at start-up: no new memory

        return check(self.key, self.caps_counter, self.device_id, values, counter, tag)

    def _ack(self, rec):
        ring = self.ctl.ring
        if not 0 <= rec < P.REC_MODULO or rec_diff(rec, ring.next_rec) >= 0:
            return P.NAK_RANGE  # acknowledging a record that does not exist yet
        ring.ack(rec)
        return 0

    def _replay(self, rec):
        ring = self.ctl.ring
        if not 0 <= rec < P.REC_MODULO:
            return P.NAK_RANGE
        if rec == ring.next_rec or ring.holds(rec):
            self.send_rec = rec
            return 0
        if rec_diff(rec, ring.next_rec) > 0:
            return P.NAK_RANGE  # in the future
        self.send_rec = ring.oldest()  # gone: send what is left, and say so
        return P.NAK_GONE

    # ----- sending --------------------------------------------------------------------

    def pump(self, limit=8):
        """Send up to `limit` pending records; returns how many went out."""
        ring = self.ctl.ring
        if self.ctl.calibration_changed:
            self.send_calibration()
        if not ring.holds(self.send_rec) and self.send_rec != ring.next_rec:
            if self._gap_from < 0 and ring.acked >= 0:
                self._gap_from = self.send_rec
            self.send_rec = ring.oldest()  # the ring lapped the cursor
        sent = 0
        while sent < limit and self.send_rec != ring.next_rec:
            if not self._record(self.send_rec):
                break
            if self._gap_from >= 0:  # the gap is closed: say how big it was, once
                self.ctl.records_lost(rec_diff(self.send_rec, self._gap_from))
                self._gap_from = -1
            self.send_rec = (self.send_rec + 1) & (P.REC_MODULO - 1)
            sent += 1
        return sent

    def _record(self, rec):
        ring = self.ctl.ring
        i = ring.index(rec)
        w = self.out
        kind = ring.kind[i]
        if kind & EVENT:
            self._begin("E")
            w.int(rec)
            w.int(ring.t[i])
            w.token(P.STATES[kind & (EVENT - 1)])
            w.token(P.EVENTS[ring.a[i]])
            w.int(ring.b[i])
        else:
            self._begin("T")
            w.int(rec)
            w.int(ring.t[i])
            w.token(P.STATES[kind])
            w.int(ring.a[i])
            w.int(ring.b[i])
            w.int(ring.c[i])
            w.int(ring.d[i])
            w.int(ring.e[i])
            w.int(ring.f[i])
        return self._send()

    def _send_stats(self):
        stats = self.stats
        if stats is None:
            return P.NAK_STATE  # no main loop measuring (a test's bare Link)
        try:
            from gc import mem_free

            free = mem_free()
        except ImportError:  # CPython
            free = -1
        self._begin("S")
        self.out.int(stats.ticks)
        self.out.int(stats.period_max_us)
        self.out.int(stats.late)
        self.out.int(free)
        self._send()
        stats.reset()
        return 0

    def send_hello(self):
        ctl = self.ctl
        self._begin("H")
        w = self.out
        w.int(P.PROTOCOL_VERSION)
        w.token(FIRMWARE_VERSION)
        w.token(self.device_id)
        w.int(self.edges_per_rev)
        w.int(1000 // ctl.sample_period_ms)
        w.token(P.STATES[ctl.state])
        w.int(ctl.ring.next_rec)
        w.int(ctl.caps.patient)
        return self._send()

    def _send_history(self):
        """CAPSLOG (protocol 4): the board's history of accepted caps (capstore.py), oldest first."""
        for counter, uptime_s, tag in self.history() if self.history is not None else ():
            self._begin("L")
            self.out.int(counter)
            self.out.int(uptime_s)
            self.out.token(tag)
            self._send()
        return 0

    def send_caps(self):
        self._begin("C")
        for v in self.ctl.caps.values:
            self.out.int(v)
        self.out.int(self.caps_counter)
        return self._send()

    def send_goals(self):
        return self._values("G", self.ctl.goals.values)

    def send_calibration(self):
        ctl = self.ctl
        ctl.calibration_changed = False
        self._begin("K")
        w = self.out
        w.int(ctl.left.tare)
        w.int(ctl.right.tare)
        w.int(ctl.left.cpn)
        w.int(ctl.right.cpn)
        return self._send()

    def _values(self, type_, values):
        self._begin(type_)
        for v in values:
            self.out.int(v)
        return self._send()

    def _answer(self, ref, code):
        if code:
            self._nak(ref, code)
        else:
            self._begin("A")
            self.out.int(ref)
            self._send()

    def _nak(self, ref, code):
        self._begin("N")
        self.out.int(ref)
        self.out.token(P.NAK_CODES[code])
        self._send()

    def _begin(self, type_):
        self.out.begin(type_, self.seq)

    def _send(self):
        """Send the frame built since _begin; the seq counts only frames that went out."""
        n = self.out.end()
        if self.write(self.out.buf, n) is False:
            return False
        self.seq = (self.seq + 1) % P.SEQ_MODULO
        return True
