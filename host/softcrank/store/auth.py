"""The therapist's PIN verifier, the trainers' wrapped keys, and the audit trail (the
therapist module uses them).

A part of RideLog (ridelog.py), which owns the connection, the lock and the transactions.
"""

from __future__ import annotations

from .records import _locked, _text, _is_int


class Auth:
    @_locked
    def pin_record(self) -> dict | None:
        """The stored PIN verifier (salt, scrypt parameters, verifier), or None if no PIN is set."""
        rows = self._read("SELECT * FROM therapist_pin WHERE id = 1")
        return dict(rows[0]) if rows else None

    @_locked
    def store_pin(self, record: dict, rewrapped: dict[str, tuple[bytes, bytes, bytes]], action: str) -> None:
        """Set the PIN verifier and replace every wrapped key at once (a PIN change re-wraps all
        of them: a crash half-way must not leave keys wrapped under a PIN nobody knows)."""
        with self._transaction("storing the therapist PIN") as db:
            db.execute("INSERT OR REPLACE INTO therapist_pin (id, salt, n, r, p, verifier, set_at) "
                       "VALUES (1, ?, ?, ?, ?, ?, ?)",
                       (record["salt"], record["n"], record["r"], record["p"], record["verifier"], self._clock()))
            for device_id, (nonce, wrapped, mac) in rewrapped.items():
                db.execute("UPDATE device_keys SET nonce = ?, wrapped = ?, mac = ? WHERE device_id = ?",
                           (nonce, wrapped, mac, device_id))
            self._audit(db, action, "done", None, None, "%d trainer key(s) re-wrapped" % len(rewrapped))

    @_locked
    def device_keys(self) -> list[dict]:
        """Every trainer's wrapped key."""
        return [dict(row) for row in self._read("SELECT * FROM device_keys ORDER BY device_id")]

    @_locked
    def device_key(self, device_id: str) -> dict | None:
        rows = self._read("SELECT * FROM device_keys WHERE device_id = ?", (device_id,))
        return dict(rows[0]) if rows else None

    @_locked
    def store_device_key(self, device_id: str, nonce: bytes, wrapped: bytes, mac: bytes) -> None:
        """A trainer's new wrapped key (replacing its old one); its counter is kept."""
        device_id = _text(device_id, "the device id")
        with self._transaction("storing a trainer key") as db:
            db.execute("INSERT INTO device_keys (device_id, nonce, wrapped, mac, created_at) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (device_id) DO UPDATE SET nonce = excluded.nonce, wrapped = excluded.wrapped, "
                       "mac = excluded.mac, created_at = excluded.created_at",
                       (device_id, nonce, wrapped, mac, self._clock()))
            self._audit(db, "key", "written to the trainer", None, device_id, "")

    @_locked
    def use_counter(self, device_id: str, counter: int) -> None:
        """Remember that a CAPS counter was used on this trainer, before it is sent: whatever
        the answer, the next CAPS uses a higher one."""
        with self._transaction("noting a CAPS counter") as db:
            db.execute("UPDATE device_keys SET last_counter = MAX(last_counter, ?) WHERE device_id = ?",
                       (counter, device_id))

    @_locked
    def audit(self, action: str, outcome: str, patient_id: int | None = None, device_id: str | None = None,
              detail: str = "") -> None:
        """One line in the audit trail. Never pass a PIN or a key here."""
        with self._transaction("writing the audit trail") as db:
            self._audit(db, action, outcome, patient_id, device_id, detail)

    def _audit(self, db, action, outcome, patient_id, device_id, detail) -> None:
        db.execute("INSERT INTO auth_audit (at, action, outcome, patient_id, device_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                   (self._clock(), action, outcome, patient_id if _is_int(patient_id) else None, device_id, detail))

    @_locked
    def audit_trail(self) -> list[dict]:
        """Every audit line, oldest first."""
        return [dict(row) for row in self._read("SELECT * FROM auth_audit ORDER BY id")]
