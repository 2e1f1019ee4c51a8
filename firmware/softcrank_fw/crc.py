"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor).

Check value: crc16(b"123456789") == 0x29B1. Table-driven over a 512-byte table built once;
computing a CRC allocates nothing, and every intermediate stays a small int on a Pico.
"""

from array import array

_TABLE = array("H", [0] * 256)


def _build():
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        _TABLE[i] = crc & 0xFFFF


_build()


def crc16(data, start=0, end=-1):
    """CRC of data[start:end] (bytes, bytearray or memoryview); end -1 means len(data)."""
    if end < 0:
        end = len(data)
    table = _TABLE
    crc = 0xFFFF
    for i in range(start, end):
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ data[i]]
    return crc
