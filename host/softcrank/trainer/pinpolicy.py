"""What a PIN must be, and how long a wrong one makes the next try wait (docs/security.md).

Rules for every PIN: MIN_PIN to MAX_PIN printable characters, no spaces at either end.

Where the ride log's secret is in the operating system's credential store (credentials.py),
a 6-digit PIN is enough: an offline guess needs that secret too. Where there is no credential
store, the PIN alone guards the keys of a copied ride log, so it must be a passphrase that
zxcvbn (Dropbox's strength estimator: dictionaries, keyboard walks, dates, repeats) puts at
PASSPHRASE_MIN_GUESSES guesses or more, and it is stretched with PASSPHRASE_SCRYPT_N:
10**10 guesses x 0.52 s / 8 cores = 6.5 x 10**8 s, about 21 years of a laptop's 8 cores.

At the screen and the command line, wrong PINs slow the next try down and five in a row lock
the PIN for LOCK_S (issue 15). The audit trail is the record of the tries, so quitting the app
or opening the ride log from another process does not reset the count.
"""

from __future__ import annotations

from datetime import datetime

MIN_PIN = 6
MAX_PIN = 64
SCRYPT_N = 2 ** 15  # with the credential store's secret: 32 MiB, about 0.13 s a try on a laptop core
SCRYPT_R = 8
SCRYPT_P = 1
PASSPHRASE_SCRYPT_N = 2 ** 17  # no credential store: 128 MiB, 4x the work, about 0.52 s a try
PASSPHRASE_MIN_GUESSES = 10 ** 10  # zxcvbn's estimate: about 21 years of 8 laptop cores at 0.52 s a guess

# Wrong PINs in a row -> seconds before the next try is taken (issue 15, item 2).
DELAYS_S = (0, 2, 4, 8, 16)
LOCK_AFTER = 5  # wrong PINs in a row that lock the PIN
LOCK_S = 300  # five minutes: at most 5 tries per 5 min, 1,440 a day: 694 days for all 10**6 6-digit PINs


class PolicyError(ValueError):
    """A new PIN that breaks the rules; the message says which."""


def check_rules(pin: object) -> None:
    if not isinstance(pin, str) or not MIN_PIN <= len(pin) <= MAX_PIN:
        raise PolicyError("a PIN is %d to %d characters" % (MIN_PIN, MAX_PIN))
    if not pin.isprintable() or pin != pin.strip():
        raise PolicyError("a PIN is printable characters, with no spaces at either end")


def guesses(pin: str) -> float:
    """zxcvbn's estimate of the guesses an attacker needs for `pin`."""
    from zxcvbn import zxcvbn

    return float(zxcvbn(pin[:MAX_PIN])["guesses"])


def check_passphrase(pin: str) -> None:
    """PolicyError unless `pin` is strong enough to guard a copied ride log by itself."""
    check_rules(pin)
    found = guesses(pin)
    if found < PASSPHRASE_MIN_GUESSES:
        raise PolicyError("this computer has no credential store, so the PIN alone guards the trainer keys: "
                          "use a passphrase of a few unrelated words (this one would fall after about %.0e "
                          "guesses; at least %.0e are needed)" % (found, PASSPHRASE_MIN_GUESSES))


def wait_s(tries: list[str], now: str) -> float:
    """Seconds before the next PIN is taken, given the times of the wrong ones in a row."""
    if not tries:
        return 0.0
    need = LOCK_S if len(tries) >= LOCK_AFTER else DELAYS_S[len(tries)]
    passed = (datetime.fromisoformat(now) - datetime.fromisoformat(tries[-1])).total_seconds()
    return max(0.0, need - passed)


def wait_words(tries: list[str], now: str) -> str | None:
    """The wait in words for the therapist, or None if a PIN is taken now."""
    left = wait_s(tries, now)
    if left <= 0:
        return None
    if len(tries) >= LOCK_AFTER:
        return "%d wrong PINs in a row: the PIN is locked for %s more (logged)" % (len(tries), duration(left))
    return "%d wrong PIN%s: wait %s before the next try" % (len(tries), "" if len(tries) == 1 else "s in a row",
                                                             duration(left))


def after_wrong_words(count: int) -> str:
    """What a wrong PIN costs, said when it is refused."""
    if count >= LOCK_AFTER:
        return "wrong PIN, %d in a row: the PIN is locked for %s (logged)" % (count, duration(LOCK_S))
    return "wrong PIN (%d of %d before a %s lock): the next try in %s" % (
        count, LOCK_AFTER, duration(LOCK_S), duration(DELAYS_S[count]))


def duration(seconds: float) -> str:
    s = int(seconds + 0.999)
    if s < 60:
        return "%d s" % s
    return "%d min %02d s" % divmod(s, 60) if s % 60 else "%d min" % (s // 60)
