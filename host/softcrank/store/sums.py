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

from .records import Event, Sample, _EVENT_COLUMNS, _SAMPLE_COLUMNS, RideLogError, _locked

SUMS_BLOCK = 1024  # record positions a block: 352 blocks for a 2-hour ride at 50 Hz
_COLUMNS = "pos, " + _SAMPLE_COLUMNS
_BATCH = 200  # sessions a statement: 400 UNION arms, under SQLite's 500 (SQLITE_MAX_COMPOUND_SELECT)


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
    """A session's kept sums and what a reader needs besides, read in one snapshot (_read_kept)."""

    def __init__(self, log, session_id: int, blocks: dict[int, str], ends: list[tuple[int, Sample]],
                 events: list, event_pos: list[int], shared: int) -> None:
        self._log, self.session_id, self.blocks = log, session_id, blocks
        ends = sorted(set(ends), key=lambda item: item[0])  # first, before last, last: (pos, Sample)
        self.first = ends[0] if ends else None
        self.last = ends[-1] if ends else None  # the first again when there is one sample
        self.before_last = ends[-2] if len(ends) > 1 else None
        self.events = events
        self._event_pos, self._shared = event_pos, shared

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
        known = [pos for pos in (self.first and self.first[0], self.last and self.last[0]) if pos is not None]
        known += self._event_pos
        if not known:
            return 0
        return max(known) - min(known) + 1 - (samples + len(self._event_pos) - self._shared)


def _read_kept(log, session_ids: list[int], version: int) -> dict[int, Kept]:
    """Kept for each of the sessions whose sums are complete and of `version`, in three
    statements per _BATCH sessions (over a network each round trip counts): the blocks, each
    session's first and last two samples (an index lookup each), and the events with whether
    a sample shares their position. The caller holds the lock and a snapshot."""
    kept: dict[int, Kept] = {}
    for at in range(0, len(session_ids), _BATCH):
        kept.update(_read_kept_batch(log, session_ids[at:at + _BATCH], version))
    return kept


def _read_kept_batch(log, session_ids: list[int], version: int) -> dict[int, Kept]:
    if not session_ids:
        return {}
    blocks: dict[int, dict[int, str]] = {}
    for session, kept, block, sums in log._db.execute(
            "SELECT s.id, s.sums_kept, b.block, b.sums FROM sessions s LEFT JOIN sample_sums b ON b.session_id = s.id "
            "WHERE s.id IN (%s)" % ", ".join("?" * len(session_ids)), tuple(session_ids)).fetchall():
        if kept == version:
            mine = blocks.setdefault(session, {})
            if block is not None:
                mine[block] = sums
    if not blocks:
        return {}
    ids = sorted(blocks)
    ends: dict[int, list] = {session: [] for session in ids}
    arms = " UNION ALL ".join(
        "SELECT * FROM (SELECT session_id, %s FROM samples WHERE session_id = ? ORDER BY pos%s LIMIT %d) AS e%d"
        % (_COLUMNS, desc, limit, i) for i, (desc, limit) in enumerate([("", 1), (" DESC", 2)] * len(ids)))
    for row in log._db.execute(arms, tuple(session for session in ids for _ in (0, 1))).fetchall():
        ends[row[0]].append((row[1], Sample._make(row[2:])))
    events: dict[int, list] = {session: [] for session in ids}
    event_pos: dict[int, list] = {session: [] for session in ids}
    shared = dict.fromkeys(ids, 0)
    for row in log._db.execute(
            "SELECT session_id, pos, EXISTS (SELECT 1 FROM samples s WHERE s.session_id = e.session_id "
            "AND s.pos = e.pos), %s FROM events e WHERE session_id IN (%s) ORDER BY session_id, pos"
            % (_EVENT_COLUMNS, ", ".join("?" * len(ids))), tuple(ids)).fetchall():
        events[row[0]].append(Event._make(row[3:]))
        event_pos[row[0]].append(row[1])
        shared[row[0]] += bool(row[2])
    return {session: Kept(log, session, blocks[session], ends[session], events[session], event_pos[session],
                          shared[session]) for session in ids}


def blocks_of(chain: list[tuple[int, Sample]]) -> tuple[int, dict[int, str]] | None:
    """The kept sums of a whole session's samples, (pos, Sample) in position order, made at
    once: (the keeper's version, {block: sums}), what keeping them record by record makes
    (the keeper's sums are integers, so the order they are added in does not matter). None
    if no keeper is registered (nothing imported clinical/summary.py)."""
    keeper = _keeper
    if keeper is None:
        return None
    change = keeper.delta([], [(pos // SUMS_BLOCK, sample) for pos, sample in chain])
    return keeper.version, {block: keeper.combine(None, delta) for block, delta in change.items()}


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

    # How a reader starts one snapshot: SQLite's read transaction is one; PostgreSQL's default
    # (READ COMMITTED) takes a snapshot a statement, so pglog.py asks for REPEATABLE READ.
    _SNAPSHOT = "BEGIN"

    @contextmanager
    def kept_sums(self, session_id: int, version: int) -> Iterator[Kept | None]:
        """The session's kept sums (Kept), if they are complete and of `version`; else None.
        Everything read through it is one snapshot of the ride log, under the lock."""
        with self.kept_sums_many([session_id], version) as kept:
            yield kept.get(session_id)

    @contextmanager
    def kept_sums_many(self, session_ids: list[int], version: int) -> Iterator[dict[int, Kept]]:
        """{session id: Kept} for those of the sessions whose sums are complete and of
        `version`, read in a constant few statements (Progress asks it of every session of a
        patient); one snapshot of the ride log, under the lock, while the block runs."""
        with self._lock:
            db = self._db
            try:
                db.execute(self._SNAPSHOT)
                yield _read_kept(self, [s for s in session_ids if isinstance(s, int)], version)
            except sqlite3.Error as exc:
                raise RideLogError("reading the kept sums of %d sessions: %s" % (len(session_ids), exc)) from exc
            finally:
                if db.in_transaction:
                    db.execute("COMMIT")

    @_locked
    def keep_sums_of(self, session_id: int) -> bool:
        """Make a session's kept sums from its samples at once (blocks_of), for one stored
        past add_records (before schema 9, or in bulk); False, changing nothing, if no keeper
        is registered or this log keeps no sums."""
        keeper = self._keeper_now()
        if keeper is None:
            return False
        self.flush()
        with self._transaction("keeping the sums of session %d" % session_id) as db:
            rows = db.execute("SELECT %s FROM samples WHERE session_id = ? ORDER BY pos" % _COLUMNS,
                              (session_id,)).fetchall()
            made = blocks_of([(row[0], Sample._make(row[1:])) for row in rows])
            assert made is not None and made[0] == keeper.version
            blocks = made[1]
            db.execute("DELETE FROM sample_sums WHERE session_id = ?", (session_id,))
            db.executemany("INSERT INTO sample_sums (session_id, block, sums) VALUES (?, ?, ?)",
                           [(session_id, block, text) for block, text in sorted(blocks.items())])
            db.execute("UPDATE sessions SET sums_kept = ? WHERE id = ?", (keeper.version, session_id))
        return True


__all__ = ["SUMS_BLOCK", "Kept", "KeptSums", "SumsKeeper", "blocks_of", "keep_sums_with"]
