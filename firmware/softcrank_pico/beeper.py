"""The piezo buzzer: a beep that never blocks. start() sets the PWM going and notes when to
stop; poll(), once a tick, silences it when that time has come. A beep lasts its length
rounded up to the next 10 ms tick.
"""

from softcrank_fw.compat import const, ticks_add, ticks_diff

_HALF = const(32768)  # 50 % duty: the loudest square wave for a passive piezo
_FREQ_MIN = const(100)
_FREQ_MAX = const(10_000)
_MS_MAX = const(10_000)  # keeps ms x 1000 far inside ticks_diff's 2**29 range


class Beeper:
    def __init__(self, pwm):
        self._pwm = pwm
        self._pwm.duty_u16(0)
        self._until = 0
        self.on = False

    def start(self, freq, ms, now_us):
        freq = _FREQ_MIN if freq < _FREQ_MIN else _FREQ_MAX if freq > _FREQ_MAX else freq
        ms = 0 if ms < 0 else _MS_MAX if ms > _MS_MAX else ms
        self._pwm.freq(freq)
        self._pwm.duty_u16(_HALF)
        self._until = ticks_add(now_us, ms * 1000)
        self.on = True

    def poll(self, now_us):
        if self.on and ticks_diff(now_us, self._until) >= 0:
            self.stop()

    def stop(self):
        self._pwm.duty_u16(0)
        self.on = False
