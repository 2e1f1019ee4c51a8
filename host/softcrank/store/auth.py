"""The therapist's PIN verifier, the trainers' wrapped keys, the caps each trainer accepted from
this laptop, and the audit trail (trainer/therapist.py uses them; docs/security.md).

A part of RideLog (ridelog.py), which owns the connection, the lock and the transactions.
"""

from __future__ import annotations

from .records import _locked, _text, _is_int


class Auth:
    @_locked
    def pin_record(self) -> dict | None:
        """The stored PIN verifier (salt, scrypt parameters, verifier, kind, store_id), or None if
        no PIN is set."""
        rows = self._read("SELECT * FROM therapist_pin WHERE id = 1")
        return dict(rows[0]) if rows else None

    @_locked
    def store_pin(self, record: dict, rewrapped: dict[str, tuple[bytes, bytes, bytes, int]], action: str) -> None:
        """Set the PIN verifier and replace every wrapped key at once (a PIN change re-wraps all
        of them: a crash half-way must not leave keys wrapped under a PIN nobody knows)."""
        with self._transaction("storing the therapist PIN") as db:
            db.execute("INSERT OR REPLACE INTO therapist_pin (id, salt, n, r, p, verifier, set_at, kind, store_id) "
                       "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (record["salt"], record["n"], record["r"], record["p"], record["verifier"], self._clock(),
                        record["kind"], record.get("store_id")))
            for device_id, (nonce, wrapped, mac, wrap) in rewrapped.items():
                db.execute("UPDATE device_keys SET nonce = ?, wrapped = ?, mac = ?, wrap = ? WHERE device_id = ?",
                           (nonce, wrapped, mac, wrap, device_id))
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
    def store_device_key(self, device_id: str, nonce: bytes, wrapped: bytes, mac: bytes, wrap: int = 2) -> None:
        """A trainer's new wrapped key (replacing its old one); its counter is kept. `wrap`: 2
        AES-256-GCM (`mac` empty: the tag is in `wrapped`), 1 the legacy XOR pad and HMAC."""
        device_id = _text(device_id, "the device id")
        with self._transaction("storing a trainer key") as db:
            db.execute("INSERT INTO device_keys (device_id, nonce, wrapped, mac, wrap, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (device_id) DO UPDATE SET nonce = excluded.nonce, wrapped = excluded.wrapped, "
                       "mac = excluded.mac, wrap = excluded.wrap, created_at = excluded.created_at",
                       (device_id, nonce, wrapped, mac, wrap, self._clock()))
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

    def clock_now(self) -> str:
        """The ride log's clock (ISO-8601 UTC), the one the audit trail is written with."""
        return self._clock()

    @_locked
    def pin_tries(self) -> list[str]:
        """When each wrong PIN since the last right one was given, oldest first (the audit
        trail is the one record of them: trainer/pinguard.py decides the wait from it)."""
        rows = self._read("SELECT at, outcome FROM auth_audit WHERE action = 'pin' AND outcome IN "
                          "('refused: wrong PIN', 'accepted') ORDER BY id DESC LIMIT 64")
        tries = []
        for row in rows:
            if row["outcome"] == "accepted":
                break
            tries.append(row["at"])
        return tries[::-1]

    @_locked
    def record_trainer_caps(self, device_id: str, counter: int, patient_id: int | None, caps: list[int],
                            tag: str) -> None:
        """Caps a trainer accepted from this laptop, with their counter and the tag the trainer
        keeps in its caps history (softcrank_fw.capstore.digest)."""
        with self._transaction("recording the trainer's caps") as db:
            db.execute("INSERT OR REPLACE INTO trainer_caps (device_id, counter, patient_id, caps, tag, at) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (device_id, counter, patient_id if _is_int(patient_id) else None,
                        ",".join(str(v) for v in caps), tag, self._clock()))

    @_locked
    def trainer_caps(self, device_id: str) -> list[dict]:
        """Every CAPS this laptop saw the trainer accept, by counter."""
        rows = self._read("SELECT * FROM trainer_caps WHERE device_id = ? ORDER BY counter", (device_id,))
        return [dict(row, caps=[int(v) for v in row["caps"].split(",") if v]) for row in rows]
