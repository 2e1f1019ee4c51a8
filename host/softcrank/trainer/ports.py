"""Finding a trainer's serial port: a Pico running MicroPython shows up as USB 2E8A:0005."""

from __future__ import annotations

PICO_USB = (0x2E8A, 0x0005)  # Raspberry Pi RP2040 running MicroPython


class PortNotFound(RuntimeError):
    pass


def find_port() -> str:
    """The one Pico running MicroPython on USB."""
    from serial.tools import list_ports

    found = [p.device for p in list_ports.comports() if (p.vid, p.pid) == PICO_USB]
    if not found:
        raise PortNotFound("no Pico running MicroPython found on USB: plug it in, or name its port with --port")
    if len(found) > 1:
        raise PortNotFound("several Picos found (%s): name one with --port" % ", ".join(found))
    return found[0]
