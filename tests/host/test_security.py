"""Issue 19 on the laptop: a copied ride log signs no caps without this computer's credential
store (or the policy's passphrase), standard cryptography for the wrapped keys, ride logs from
before it migrate without losing a key, and (issue 15) wrong PINs wait, then lock.
docs/security.md says why, with the figures."""

import hashlib
import hmac
import secrets
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from softcrank.store import ridelog as R
from softcrank.store.ridelog import RideLog
from softcrank.store.schema import MIGRATIONS
from softcrank.trainer import credentials, keywrap, pinpolicy, therapist


PIN = "482913"
PASSPHRASE = "kestrel mango violin 42"


class MemoryKeyring(KeyringBackend):
    """A small in-process credential store, registered through keyring's own API."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.entries = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.entries.pop((service, username), None)


class Clock:
    """The ride log's clock, moved by hand."""

    def __init__(self):
        self.t = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.t.isoformat(timespec="milliseconds")

    def wait(self, seconds):
        self.t += timedelta(seconds=seconds)


@pytest.fixture
def no_credential_store(monkeypatch):
    """A headless Linux: keyring's fail backend, chosen by nobody."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-softcrank-test")
    keyring.set_keyring(fail.Keyring())
    assert not credentials.available()


# ----- a copied ride log -----------------------------------------------------------------------

def test_a_ride_log_copied_to_a_fresh_folder_signs_no_caps_without_the_credential(tmp_path):
    home = MemoryKeyring()
    keyring.set_keyring(home)
    key = therapist.new_key()
    with RideLog(tmp_path / "clinic" / "ride.sqlite") as log:
        therapist.set_pin(log, PIN)
        therapist.unlock(log, PIN, "deploy").store_device_key("pico-1", key)
        assert log.pin_record()["kind"] == "keyring"
        assert len(home.entries) == 1  # the ride log's secret is in the credential store, not the file
    stolen = tmp_path / "elsewhere" / "ride.sqlite"
    stolen.parent.mkdir()
    shutil.copy(tmp_path / "clinic" / "ride.sqlite", stolen)
    keyring.set_keyring(MemoryKeyring())  # another computer (or user): its own, empty store
    with RideLog(stolen) as log:
        with pytest.raises(therapist.NoCredential, match="does not hold this ride log's secret"):
            therapist.unlock(log, PIN, "set caps")  # the right PIN, and still nothing
        assert log.audit_trail()[-1]["outcome"].startswith("refused: the credential store holds no secret")
        # an offline guess needs the secret too: the verifier the file holds matches no PIN without it
        record = log.pin_record()
        for secret in (b"", None):
            assert keywrap.derive(PIN, record["salt"], record["n"], record["r"], record["p"], secret)[0] \
                != record["verifier"]
    keyring.set_keyring(home)  # the same copy, back with its credential: it was the credential, not the copy
    with RideLog(stolen) as log:
        assert therapist.unlock(log, PIN, "set caps").device_key("pico-1") == key


def test_the_policy_s_passphrase_guards_a_copied_ride_log_where_no_credential_store_exists(tmp_path,
                                                                                           no_credential_store):
    with RideLog(tmp_path / "ride.sqlite") as log:
        with pytest.raises(therapist.BadPin, match="no credential store"):
            therapist.set_pin(log, PIN)  # 6 digits would fall offline in hours
        assert not therapist.has_pin(log)
        therapist.set_pin(log, PASSPHRASE)
        record = log.pin_record()
        assert (record["kind"], record["n"]) == ("passphrase", pinpolicy.PASSPHRASE_SCRYPT_N)
        key = therapist.new_key()
        therapist.unlock(log, PASSPHRASE, "deploy").store_device_key("pico-1", key)
    shutil.copytree(tmp_path, tmp_path.parent / (tmp_path.name + "-copy"))
    clock = Clock()
    with RideLog(tmp_path.parent / (tmp_path.name + "-copy") / "ride.sqlite", clock=clock) as log:
        with pytest.raises(therapist.PinRefused):
            therapist.unlock(log, PIN, "set caps")
        clock.wait(pinpolicy.DELAYS_S[1])
        assert therapist.unlock(log, PASSPHRASE, "set caps").device_key("pico-1") == key


def test_the_passphrase_policy_s_figures():
    assert pinpolicy.guesses("482913") < pinpolicy.PASSPHRASE_MIN_GUESSES
    assert pinpolicy.guesses("password1234") < pinpolicy.PASSPHRASE_MIN_GUESSES
    assert pinpolicy.guesses(PASSPHRASE) >= pinpolicy.PASSPHRASE_MIN_GUESSES
    # docs/security.md: 10**10 guesses at 0.52 s on 8 cores is about 21 years
    years = pinpolicy.PASSPHRASE_MIN_GUESSES * 0.52 / 8 / (365.25 * 86400)
    assert 20 <= years <= 22
    assert pinpolicy.PASSPHRASE_SCRYPT_N == 4 * pinpolicy.SCRYPT_N


# ----- AES-GCM -----------------------------------------------------------------------------------

def test_keys_are_wrapped_with_aes_gcm_bound_to_their_trainer(tmp_path):
    with RideLog(tmp_path / "ride.sqlite") as log:
        therapist.set_pin(log, PIN)
        keys = therapist.unlock(log, PIN, "deploy")
        key = therapist.new_key()
        keys.store_device_key("pico-1", key)
        keys.store_device_key("pico-2", therapist.new_key())
        row = log.device_key("pico-1")
        assert row["wrap"] == keywrap.WRAP_AESGCM and len(row["nonce"]) == 12 and len(row["wrapped"]) == 32 + 16
        assert key not in row["wrapped"]
        log.store_device_key("pico-2", row["nonce"], row["wrapped"], row["mac"])  # pico-1's key moved to pico-2
        with pytest.raises(therapist.NoDeviceKey, match="damaged"):
            keys.device_key("pico-2")
        assert keys.device_key("pico-1") == key


# ----- a ride log from before issue 19 ----------------------------------------------------------

def legacy_ride_log(path, pin, keys):
    """A ride log as softcrank wrote it before issue 19 (schema 7): scrypt split into verifier and
    KEK, each key XORed with an HMAC-SHA256 pad and tagged with HMAC-SHA256. Written here, by the
    test, in the old format: the code under test no longer writes it."""
    db = sqlite3.connect(path)
    for migration in MIGRATIONS[:7]:
        migration(db, "2026-01-01T00:00:00.000+00:00")
    db.execute("PRAGMA user_version = 7")
    salt = secrets.token_bytes(16)
    out = hashlib.scrypt(pin.encode(), salt=salt, n=2 ** 15, r=8, p=1, maxmem=64 * 1024 * 1024, dklen=64)
    verifier, kek = out[:32], out[32:]
    db.execute("INSERT INTO therapist_pin (id, salt, n, r, p, verifier, set_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
               (salt, 2 ** 15, 8, 1, verifier, "2026-01-01T00:00:00.000+00:00"))
    for device, key in keys.items():
        nonce = secrets.token_bytes(16)
        pad = hmac.new(kek, b"softcrank-wrap-pad|" + device.encode() + b"|" + nonce, hashlib.sha256).digest()
        wrapped = bytes(a ^ b for a, b in zip(key, pad))
        mac = hmac.new(kek, b"softcrank-wrap-mac|" + device.encode() + b"|" + nonce + wrapped, hashlib.sha256).digest()
        db.execute("INSERT INTO device_keys (device_id, nonce, wrapped, mac, last_counter, created_at) "
                   "VALUES (?, ?, ?, ?, 7, ?)", (device, nonce, wrapped, mac, "2026-01-01T00:00:00.000+00:00"))
    db.commit()
    db.close()


def test_a_ride_log_from_before_migrates_without_losing_a_key(tmp_path):
    keys = {"pico-1": therapist.new_key(), "pico-2": therapist.new_key()}
    path = tmp_path / "ride.sqlite"
    legacy_ride_log(path, PIN, keys)
    clock = Clock()
    with RideLog(path, clock=clock) as log:
        assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == R.SCHEMA_VERSION
        assert log.pin_record()["kind"] == "legacy" and log.device_key("pico-1")["wrap"] == keywrap.WRAP_LEGACY
        assert not therapist.check_pin(log, "000000")  # the old PIN's rules still hold before the move
        clock.wait(pinpolicy.DELAYS_S[1])
        unlocked = therapist.unlock(log, PIN, "deploy")  # the first right PIN moves everything
        assert {d: unlocked.device_key(d) for d in keys} == keys
        assert log.pin_record()["kind"] == "keyring"
        assert [row["wrap"] for row in log.device_keys()] == [keywrap.WRAP_AESGCM] * 2
        assert log.device_key("pico-1")["last_counter"] == 7  # the counters stay
        assert ("pin migrated", "done") in [(a["action"], a["outcome"]) for a in log.audit_trail()]
    with RideLog(path) as log:  # and again, now from AES-GCM
        assert {d: therapist.unlock(log, PIN, "x").device_key(d) for d in keys} == keys


def test_a_legacy_pin_without_a_credential_store_migrates_and_says_it_is_weak(tmp_path, no_credential_store):
    key = therapist.new_key()
    legacy_ride_log(tmp_path / "ride.sqlite", PIN, {"pico-1": key})
    with RideLog(tmp_path / "ride.sqlite") as log:
        assert therapist.unlock(log, PIN, "x").device_key("pico-1") == key
        assert log.pin_record()["kind"] == "weak" and log.device_key("pico-1")["wrap"] == keywrap.WRAP_AESGCM
        assert "below the passphrase policy" in therapist.pin_kind(log)


# ----- wrong PINs wait, five lock (issue 15, item 2) --------------------------------------------

def test_wrong_pins_slow_down_then_lock_and_every_try_is_logged(tmp_path):
    clock = Clock()
    with RideLog(tmp_path / "ride.sqlite", clock=clock) as log:
        therapist.set_pin(log, PIN)
        waits = []
        for n in range(1, pinpolicy.LOCK_AFTER + 1):
            with pytest.raises(therapist.PinRefused) as wrong:
                therapist.unlock(log, "000000", "open the therapist screen")
            assert type(wrong.value) is therapist.PinRefused and "wrong PIN" in str(wrong.value)
            with pytest.raises(therapist.PinLocked) as early:  # even the right PIN, too soon
                therapist.unlock(log, PIN, "open the therapist screen")
            waits.append(early.value.wait_s)
            assert therapist.pin_wait(log) is not None
            clock.wait(early.value.wait_s)
        assert waits == [2, 4, 8, 16, pinpolicy.LOCK_S]
        assert "locked for 5 min" in str(wrong.value) and "5 wrong PINs in a row" in str(early.value)
        assert therapist.pin_wait(log) is None
        assert therapist.check_pin(log, PIN)  # the lock is over: the right PIN opens, the count restarts
        clock.wait(1)
        assert not therapist.check_pin(log, "000000")
        with pytest.raises(therapist.PinLocked) as again:
            therapist.unlock(log, PIN, "x")
        assert again.value.wait_s == 2
        outcomes = [a["outcome"] for a in log.audit_trail() if a["action"] == "pin"]
        assert outcomes.count("refused: wrong PIN") == 6
        assert sum(o.startswith("refused: locked") for o in outcomes) == 6
        assert "accepted" in outcomes
        assert all(PIN not in str(a) and "000000" not in str(a) for a in log.audit_trail())


def test_the_lock_survives_reopening_the_ride_log(tmp_path):
    clock = Clock()
    with RideLog(tmp_path / "ride.sqlite", clock=clock) as log:
        therapist.set_pin(log, PIN)
        for _ in range(pinpolicy.LOCK_AFTER):
            therapist.check_pin(log, "000000")
            clock.wait(60)
    with RideLog(tmp_path / "ride.sqlite", clock=clock) as log:  # quitting the app resets nothing
        with pytest.raises(therapist.PinLocked) as locked:
            therapist.unlock(log, PIN, "x")
        assert locked.value.wait_s == pinpolicy.LOCK_S - 60


def test_the_waits_are_named_once():
    assert pinpolicy.DELAYS_S == (0, 2, 4, 8, 16) and pinpolicy.LOCK_AFTER == 5 and pinpolicy.LOCK_S == 300
    assert pinpolicy.duration(300) == "5 min" and pinpolicy.duration(252) == "4 min 12 s"
