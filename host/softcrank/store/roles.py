"""The clinic store's roles: who may record and read, who may change plans and caps.

Two group roles, made by `softcrank clinic init` (run once by the database's owner):

- softcrank_ride: the ride laptops. Reads everything; adds patients, sessions, samples,
  events, audit rows and summaries; closes sessions. Cannot write plans or caps history, and
  cannot change or delete any row of them.
- softcrank_therapist: everything softcrank_ride may, and writes plans and caps history.

The therapist's PIN and the trainers' keys stay on each laptop (docs/clinic.md): neither role
may read or write those tables. Login roles are members of one group (`softcrank clinic user`).
The therapist's PIN still guards caps on the trainer itself: the firmware checks the signature.
"""

from __future__ import annotations

RIDE = "softcrank_ride"
THERAPIST = "softcrank_therapist"
ROLES = {"ride": RIDE, "therapist": THERAPIST}

_READ = ("patients", "caps_history", "plans", "sessions", "samples", "events", "auth_audit", "summaries",
         "softcrank_schema")
_RIDE_INSERT = ("patients", "sessions", "samples", "events", "auth_audit", "summaries")
_RIDE_UPDATE = ("sessions", "summaries")
_THERAPIST_WRITE = ("plans", "caps_history")
_LOCAL_ONLY = ("therapist_pin", "device_keys", "trainer_caps")  # the laptop's secrets and its caps evidence


def init_roles(clinic) -> list[str]:
    """Create the two group roles (if missing) and grant them; returns what was done."""
    raw = clinic.raw
    done = []
    with raw.transaction():
        for role in (RIDE, THERAPIST):
            if raw.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
                raw.execute("CREATE ROLE %s NOLOGIN" % role)
                done.append("created role %s" % role)
        raw.execute("GRANT %s TO %s" % (RIDE, THERAPIST))
        raw.execute("GRANT USAGE ON SCHEMA %s TO %s" % (_schema(raw), RIDE))
        raw.execute("GRANT SELECT ON %s TO %s" % (", ".join(_READ), RIDE))
        raw.execute("GRANT INSERT ON %s TO %s" % (", ".join(_RIDE_INSERT), RIDE))
        raw.execute("GRANT UPDATE ON %s TO %s" % (", ".join(_RIDE_UPDATE), RIDE))
        raw.execute("GRANT INSERT, UPDATE, DELETE ON %s TO %s" % (", ".join(_THERAPIST_WRITE), THERAPIST))
        raw.execute("GRANT UPDATE ON patients TO %s" % THERAPIST)
        raw.execute("REVOKE ALL ON %s FROM %s, %s" % (", ".join(_LOCAL_ONLY), RIDE, THERAPIST))
        done.append("granted %s: read all, record sessions; %s: also plans and caps history" % (RIDE, THERAPIST))
    return done


def add_login(clinic, name: str, role: str, password: str | None) -> str:
    """A login role in one of the groups (`role`: ride or therapist)."""
    from psycopg import sql

    if role not in ROLES:
        raise ValueError("the role must be ride or therapist, got %r" % (role,))
    statement = sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(name), sql.Identifier(ROLES[role]))
    if password:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    clinic.raw.execute(statement)
    return "created login %s (%s)" % (name, ROLES[role])


def _schema(raw) -> str:
    return raw.execute("SELECT current_schema()").fetchone()[0]
