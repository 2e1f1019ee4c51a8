"""Each session's summary sums, kept up to date as its samples are stored.

A part of RideLog (ridelog.py), which owns the connection, the lock and the transactions.

What is summed, and how, is not the store's business: it is the one definition of the
figures, clinical/summary.py's Sums, which registers a keeper here (keep_sums_with) when it is
imported. The store calls it from flush(), in the same transaction as the samples, so the
sums and the samples it stores are always of the same records. The store only decides which
samples' weights change, and where their sums go:

- A sample stands for the time until the next stored sample (summary.timed), so storing
  samples between `a` (the stored sample before the first new one) and `z` (the stored one
  after the last new one) changes the weights of the stored samples from `a` to `z` and
  gives the new ones theirs. flush() reads that stretch before inserting (one index lookup
  live, where `a` is the newest sample and `z` does not exist), hands the keeper the chain
  before and after, and the keeper returns what to take back and what to add. A replay that
  fills a gap is the same arithmetic on a longer stretch.
- The sums are kept per block of SUMS_BLOCK record positions (table sample_sums), so the
  thirds of the work phase (the fatigue signals) can be found from the blocks' work time
  and one block's samples, not every sample. The session's last sample is in no block: its
  weight is known only once the next arrives, so a reader adds it itself.
- sessions.sums_kept holds the keeper's version while the blocks are complete. A writer
  with no keeper (nothing imported clinical/summary.py) or another version clears it and the
  blocks in the same transaction, and readers fall back to reading every sample: slower,
  never wrong. Sessions stored before schema 9 have none either.

A back end other than SQLite (PostgreSQL, say) implements the same: the column, the table,
_sums_before/_sums_after around its insert in flush(), and kept_sums() below.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Iterator, Protocol

from .records import Sample, _SAMPLE_COLUMNS, RideLogError

SUMS_BLOCK = 1024  # record positions a block: 352 blocks for a 2-hour ride at 50 Hz
_COLUMNS = "pos, " + _SAMPLE_COLUMNS


class SumsKeeper(Protocol):
    """What the store needs of the figures' arithmetic (clinical/summary.py has the one)."""

    version: int  # changes whenever what is summed changes: older sums are then not used

    def delta(self, old: list[tuple[int, Sample]], new: list[tuple[int, Sample]]) -> dict[int, object]:
        """What changes in each block when the chain of (block, sample) `old` becomes `new`."""

    def combine(self, text: str | None, change: object) -> str:
        """A block's stored sums (None: none yet) with a change from delta() added."""


_keeper: SumsKeeper | None = None


def keep_sums_with(keeper: SumsKeeper) -> None:
    """Have every RideLog keep sessions' sums with `keeper` from now on."""
    global _keeper
    _keeper = keeper


def _rows_by_session(rows: list[tuple]) -> dict[int, list[tuple]]:
    """Sample rows (session_id, pos, rec, ...) by session, the first of each position only
    (INSERT OR IGNORE keeps the first), in position order."""
    sessions: dict[int, dict[int, tuple]] = {}
    for row in rows:
        sessions.setdefault(row[0], {}).setdefault(row[1], row)
    return {session: sorted(by_pos.values(), key=lambda row: row[1]) for session, by_pos in sessions.items()}


class Kept:
    """A session's kept sums and what a reader needs besides, read in one snapshot."""

    def __init__(self, log, session_id: int, blocks: dict[int, str]) -> None:
        self._log, self.session_id, self.blocks = log, session_id, blocks
        ends = log._read("""SELECT * FROM (SELECT %s FROM samples WHERE session_id = ?1 ORDER BY pos LIMIT 1)
                            UNION ALL SELECT * FROM (SELECT %s FROM samples WHERE session_id = ?1
                                                     ORDER BY pos DESC LIMIT 2)""" % (_COLUMNS, _COLUMNS),
                         (session_id,))
        ends = [(row[0], Sample._make(row[1:])) for row in ends]  # first, last, before last: (pos, Sample)
        self.first = ends[0] if ends else None
        self.last = ends[1] if ends else None  # the first again when there is one sample
        self.before_last = ends[2] if len(ends) > 2 else None
        self.events = log.events(session_id)

    @staticmethod
    def block_of(pos: int) -> int:
        return pos // SUMS_BLOCK

    def around_block(self, block: int) -> list[tuple[int, Sample]]:
        """The block's samples with the stored sample before it and the one after (if any)."""
        lo, hi = block * SUMS_BLOCK, (block + 1) * SUMS_BLOCK - 1
        rows = self._log._read(
            """SELECT %s FROM samples WHERE session_id = ?1 AND pos BETWEEN
                   IFNULL((SELECT MAX(pos) FROM samples WHERE session_id = ?1 AND pos < ?2), ?2)
                   AND IFNULL((SELECT MIN(pos) FROM samples WHERE session_id = ?1 AND pos > ?3), ?3)
               ORDER BY pos""" % _COLUMNS, (self.session_id, lo, hi))
        return [(row[0], Sample._make(row[1:])) for row in rows]

    def missing(self, samples: int) -> int:
        """Records missing between the first and last stored (as missing_recs counts them),
        given how many samples are stored: the span less the positions held."""
        # One MIN or MAX a subquery: SQLite reads a single one from the index's end, but a
        # MIN and a MAX together by scanning the session's whole range.
        *ends, events, shared = self._log._read(
            """SELECT (SELECT MIN(pos) FROM samples WHERE session_id = ?1), (SELECT MAX(pos) FROM samples WHERE session_id = ?1),
                      (SELECT MIN(pos) FROM events WHERE session_id = ?1), (SELECT MAX(pos) FROM events WHERE session_id = ?1),
                      (SELECT COUNT(*) FROM events WHERE session_id = ?1),
                      (SELECT COUNT(*) FROM events e WHERE session_id = ?1 AND EXISTS
                           (SELECT 1 FROM samples s WHERE s.session_id = ?1 AND s.pos = e.pos))""",
            (self.session_id,))[0]
        known = [pos for pos in ends if pos is not None]
        lo, hi = (min(known), max(known)) if known else (None, None)
        return 0 if lo is None else hi - lo + 1 - (samples + events - shared)


class KeptSums:
    def _keeper_now(self) -> SumsKeeper | None:
        return _keeper if self.keep_sums else None

    def _sums_version(self) -> int | None:
        keeper = self._keeper_now()
        return None if keeper is None else keeper.version

    def _sums_before(self, db, rows: list[tuple]) -> list[tuple]:
        """Before the insert: for each session, what its chain of samples was around the new
        ones and which are new. Sessions whose sums cannot be kept lose them here."""
        keeper, plans = self._keeper_now(), []
        for session, new in _rows_by_session(rows).items():
            kept = db.execute("SELECT sums_kept FROM sessions WHERE id = ?", (session,)).fetchone()
            if kept is None or kept[0] is None:
                continue
            if keeper is None or kept[0] != keeper.version:
                db.execute("UPDATE sessions SET sums_kept = NULL WHERE id = ?", (session,))
                db.execute("DELETE FROM sample_sums WHERE session_id = ?", (session,))
                continue
            old = db.execute(
                """SELECT %s FROM samples WHERE session_id = ?1 AND pos BETWEEN
                       IFNULL((SELECT MAX(pos) FROM samples WHERE session_id = ?1 AND pos < ?2), ?2)
                       AND IFNULL((SELECT MIN(pos) FROM samples WHERE session_id = ?1 AND pos > ?3), ?3)
                   ORDER BY pos""" % _COLUMNS, (session, new[0][1], new[-1][1])).fetchall()
            stored = {row[0] for row in old}
            old_chain = [(row[0], Sample._make(row[1:])) for row in old]
            added = [(row[1], Sample._make(row[2:])) for row in new if row[1] not in stored]
            if added:
                plans.append((session, old_chain, sorted(old_chain + added, key=lambda item: item[0])))
        return plans

    def _sums_after(self, db, plans: list[tuple]) -> None:
        """After the insert, in the same transaction: each block's sums with the change added."""
        keeper = self._keeper_now()
        for session, old, new in plans:
            assert keeper is not None
            change = keeper.delta([(pos // SUMS_BLOCK, s) for pos, s in old], [(pos // SUMS_BLOCK, s) for pos, s in new])
            for block, delta in change.items():
                row = db.execute("SELECT sums FROM sample_sums WHERE session_id = ? AND block = ?",
                                 (session, block)).fetchone()
                db.execute("INSERT OR REPLACE INTO sample_sums (session_id, block, sums) VALUES (?, ?, ?)",
                           (session, block, keeper.combine(row[0] if row else None, delta)))

    @contextmanager
    def kept_sums(self, session_id: int, version: int) -> Iterator[Kept | None]:
        """The session's kept sums (Kept), if they are complete and of `version`; else None.
        Everything read through it is one snapshot of the ride log, under the lock."""
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN")
                row = db.execute("SELECT sums_kept FROM sessions WHERE id = ?", (session_id,)).fetchone()
                if row is None or row[0] != version:
                    yield None
                else:
                    blocks = dict(db.execute("SELECT block, sums FROM sample_sums WHERE session_id = ?",
                                             (session_id,)).fetchall())
                    yield Kept(self, session_id, blocks)
            except sqlite3.Error as exc:
                raise RideLogError("reading the kept sums of session %d: %s" % (session_id, exc)) from exc
            finally:
                if db.in_transaction:
                    db.execute("COMMIT")


__all__ = ["SUMS_BLOCK", "Kept", "KeptSums", "SumsKeeper", "keep_sums_with"]
