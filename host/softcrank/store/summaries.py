"""Each ended session's summary, kept with a fingerprint of what it was computed from.

A part of RideLog (ridelog.py), which owns the connection, the lock and the transactions.
"""

from __future__ import annotations

from .records import _is_int, _locked

_BATCH = 500  # sessions a statement (SQLite takes up to 32,766 parameters)


class Summaries:
    @_locked
    def summary_fingerprint(self, session_id: int) -> str | None:
        """What a session's summary depends on: its end and how many records it holds, and up to
        where (read from the indexes, in milliseconds for hours of samples). None while the
        session is unfinished: its summary changes with every record."""
        row = self.session(session_id)
        if row["ended_at"] is None:
            return None
        counts = self._read("""SELECT (SELECT COUNT(*) || ':' || IFNULL(MAX(pos), '') FROM samples WHERE session_id = ?1),
                                      (SELECT COUNT(*) || ':' || IFNULL(MAX(pos), '') FROM events WHERE session_id = ?1)""",
                            (session_id,))[0]
        return "%s|%s|%s|%s" % (row["ended_at"], row["end_state"], counts[0], counts[1])

    @_locked
    def kept_summaries(self, session_ids: list[int]) -> dict[int, tuple[str | None, str | None, str | None]]:
        """For each of the sessions: its summary_fingerprint (None while unfinished), and the
        summary kept for it (JSON text) with the fingerprint it was kept for (None, None if
        none), in one statement per _BATCH sessions: Progress asks it of every session of a
        patient, and over a network each round trip counts."""
        found = {}
        ids = [session for session in session_ids if _is_int(session)]
        for at in range(0, len(ids), _BATCH):
            batch = ids[at:at + _BATCH]
            for row in self._read(
                    """SELECT s.id, s.ended_at, s.end_state,
                              (SELECT COUNT(*) || ':' || IFNULL(MAX(pos), '') FROM samples WHERE session_id = s.id),
                              (SELECT COUNT(*) || ':' || IFNULL(MAX(pos), '') FROM events WHERE session_id = s.id),
                              k.fingerprint, k.summary
                       FROM sessions s LEFT JOIN summaries k ON k.session_id = s.id
                       WHERE s.id IN (%s)""" % ", ".join("?" * len(batch)), tuple(batch)):
                fingerprint = None if row[1] is None else "%s|%s|%s|%s" % tuple(row[1:5])
                found[row[0]] = (fingerprint, row[5], row[6])
        return found

    @_locked
    def cached_summary(self, session_id: int, fingerprint: str) -> str | None:
        """The summary stored for this fingerprint (as its JSON text), or None."""
        rows = self._read("SELECT summary FROM summaries WHERE session_id = ? AND fingerprint = ?",
                          (session_id, fingerprint))
        return rows[0][0] if rows else None

    @_locked
    def cache_summary(self, session_id: int, fingerprint: str, text: str) -> None:
        """Keep a session's summary (JSON text) for its fingerprint, replacing an older one."""
        self.flush()
        with self._transaction("caching a summary") as db:
            db.execute("INSERT OR REPLACE INTO summaries (session_id, fingerprint, summary) VALUES (?, ?, ?)",
                       (session_id, fingerprint, text))
