"""An HX711 load-cell ADC, read by a PIO state machine: no busy-wait, no CPU time per bit.

The HX711 converts 80 times a second (its RATE pin tied high: hardware/bom.csv), so a reading
is ready every 12.5 ms; it pulls DOUT low when one is. The PIO program waits for that, clocks
the 24 data bits out MSB first on SCK and gives a 25th pulse, which selects channel A at gain
128 for the next conversion; then it pushes the 24-bit word into the RX FIFO and waits again.
The CPU only ever takes finished words: newest() checks rx_fifo() and returns at once.

Timing, at 1 MHz (1 us per PIO instruction): SCK is high 2 us and low 2 us per bit (the
datasheet asks for at least 0.2 us each, and data is valid 0.1 us after the rising edge: it is
sampled 1 us after), so a reading takes 25 x 4 us = 100 us of the 12.5 ms. SCK high for more
than 60 us powers the HX711 down: a CPU bit-banging SCK can be held there by an interrupt or
a flash write; the PIO cannot, it runs on whatever the CPU is doing.

The FIFO holds 4 words (50 ms of readings). If the CPU does not read for longer, the PIO's
non-blocking push drops the newest words, so the first reading after such a stall can be up
to 12.5 ms older than it would have been; the next one is fresh. A disconnected DOUT (pulled up
here) never goes low: no readings, and the load cell's staleness check faults after 500 ms.
A DOUT stuck low gives a stream of identical words: the stuck check faults after 2 s.
"""

import rp2

from softcrank_fw.compat import const

NO_READING = const(-0x20000000)  # what newest() returns when nothing came: outside 24 bits

_SM_HZ = const(1_000_000)  # 1 us per instruction, the timing above
_SIGN = const(0x800000)  # bit 23: the sign of a 24-bit two's complement reading
_WORD = const(0xFFFFFF)
_COUNT_MASK = const((1 << 30) - 1)

TYPE_CHECKING = False
if TYPE_CHECKING:  # the PIO assembler's names, for the type checker only
    from rp2.asm_pio import *  # noqa: F403


@rp2.asm_pio(sideset_init=rp2.PIO.OUT_LOW, in_shiftdir=rp2.PIO.SHIFT_LEFT)
def _read_hx711():
    wait(0, pin, 0).side(0)  # DOUT low: a conversion is ready
    set(x, 23).side(0)  # 24 data bits
    label("bit")
    nop().side(1)  # SCK rises: the HX711 puts out the next bit
    in_(pins, 1).side(1)  # sample DOUT 1 us later, still high
    jmp(x_dec, "bit").side(0)[1]  # SCK low 2 us
    nop().side(1)[1]  # the 25th pulse: channel A, gain 128 next time
    push(noblock).side(0)  # the word to the CPU (a full FIFO drops it); ISR cleared


def signed24(word):
    """A 24-bit two's complement word as a signed integer: 0x800000 -> -8388608."""
    return ((word & _WORD) ^ _SIGN) - _SIGN


class HX711:
    def __init__(self, sm_id, dout, sck):
        """sm_id: the PIO state machine (0-7) to use; dout: an input Pin, pulled up; sck: a Pin."""
        self._sm = rp2.StateMachine(sm_id, _read_hx711, freq=_SM_HZ, in_base=dout, sideset_base=sck)
        self._sm.active(1)
        self.readings = 0  # words taken, mod 2**30

    def newest(self):
        """The newest reading since the last call, or NO_READING; older ones are dropped."""
        sm = self._sm
        if sm.rx_fifo() == 0:
            return NO_READING
        word = 0
        while sm.rx_fifo():  # at most the FIFO's 4 words: never waits
            word = sm.get()
            self.readings = (self.readings + 1) & _COUNT_MASK
        return signed24(word)

    def stop(self):
        self._sm.active(0)
