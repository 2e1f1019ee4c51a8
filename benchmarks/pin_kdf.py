"""What the therapist's PIN costs: one scrypt run (to check it and unlock the trainer keys), and
what checking a CAPS tag costs the firmware on the MicroPython unix port.

Prints the figures and the offline-guessing arithmetic docs/security.md quotes; asserts nothing
(this machine is shared and noisy: the figures are the median of several runs).

    python benchmarks/pin_kdf.py
"""

import hashlib
import statistics
import subprocess
import time

from softcrank.trainer import pinpolicy, therapist
from softcrank.boardfiles.interpreter import environment, micropython

RUNS = 7
MP_CHECK = """
import time
from softcrank_fw.capsauth import check, tag
key = bytes(range(32))
caps = [30, 20, 40, 300, 6, 120, 120, 300, 42]
t = tag(key, "pico-e6614103e7452d2f", 8, caps)
n = 200
t0 = time.ticks_us()
for _ in range(n):
    check(key, 7, "pico-e6614103e7452d2f", caps, 8, t)
print(time.ticks_diff(time.ticks_us(), t0) / n)
"""


def scrypt_s(n: int = therapist.SCRYPT_N) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        hashlib.scrypt(b"482913", salt=b"s" * 16, n=n, r=therapist.SCRYPT_R,
                       p=therapist.SCRYPT_P, maxmem=256 * 1024 * 1024, dklen=64)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    s = scrypt_s()
    mem = 128 * therapist.SCRYPT_R * therapist.SCRYPT_N / 2 ** 20
    print("scrypt N=2^%d r=%d p=%d: %.3f s per PIN check, %.0f MiB (median of %d)"
          % (therapist.SCRYPT_N.bit_length() - 1, therapist.SCRYPT_R, therapist.SCRYPT_P, s, mem, RUNS))
    for what, guesses in (("4 digits", 10 ** 4), ("6 digits", 10 ** 6), ("8 digits", 10 ** 8),
                          ("8 of a-z0-9", 36 ** 8)):
        secs = guesses * s
        print("  offline, %-12s %.1e guesses: %s on one core, %s on 8" % (what, guesses, _span(secs), _span(secs / 8)))
    strong = scrypt_s(pinpolicy.PASSPHRASE_SCRYPT_N)
    secs = pinpolicy.PASSPHRASE_MIN_GUESSES * strong
    print("scrypt N=2^%d (no credential store: a passphrase): %.3f s per check, %.0f MiB; the policy's weakest "
          "passphrase (%.0e guesses): %s on one core, %s on 8"
          % (pinpolicy.PASSPHRASE_SCRYPT_N.bit_length() - 1, strong,
             128 * therapist.SCRYPT_R * pinpolicy.PASSPHRASE_SCRYPT_N / 2 ** 20, pinpolicy.PASSPHRASE_MIN_GUESSES,
             _span(secs), _span(secs / 8)))
    print("with the credential store's 256-bit secret, a copied ride log alone: 2^256 guesses, never")
    out = subprocess.run([micropython(), "-c", MP_CHECK], capture_output=True, text=True, env=environment())
    print("firmware CAPS tag check on the MicroPython unix port: %s us each"
          % (out.stdout.strip() or out.stderr.strip()))


def _span(secs: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if secs >= size:
            return "%.1f %s" % (secs / size, unit)
    return "%.1f s" % secs


if __name__ == "__main__":
    main()
