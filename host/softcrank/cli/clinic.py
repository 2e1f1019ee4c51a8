"""The clinic store on the command line: `softcrank sync` and `softcrank clinic init|user`.

docs/clinic.md says how a clinic sets it up; store/sync.py and store/roles.py what these do.
"""

from __future__ import annotations

import getpass
import os
import sys

from ..store.opening import ENV_CLINIC, db_target
from ..store.pglog import is_url, redact
from ..store.ridelog import RideLogError


def sync_command(args) -> int:
    """Push this laptop's ride log to the clinic store and pull the clinic's patients and plans."""
    from ..store.pglog import PgRideLog
    from ..store.ridelog import RideLog
    from ..store.sync import sync

    to = args.to or os.environ.get(ENV_CLINIC)
    if not to or not is_url(to):
        print("softcrank sync: --to must be a postgresql:// URL (or set %s), got %r" % (ENV_CLINIC, to),
              file=sys.stderr)
        return 2
    local_db = db_target(args.db)
    if is_url(local_db):
        print("softcrank sync: --db is this laptop's ride log file, not a clinic store: got %s"
              % redact(str(local_db)), file=sys.stderr)
        return 2
    try:
        with RideLog(local_db) as local, PgRideLog(to) as clinic:
            print("syncing %s with %s" % (local.path, clinic.path))
            report = sync(local, clinic)
    except RideLogError as e:
        print("softcrank sync: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("softcrank sync: interrupted; what was moved is kept, run it again to finish", file=sys.stderr)
        return 130
    for line in report.lines():
        print(line)
    return 0


def clinic_command(args) -> int:
    """`clinic init`: the schema and the two roles; `clinic user NAME --role R`: a login."""
    from ..store.pglog import PgRideLog
    from ..store.roles import add_login, init_roles

    target = db_target(args.db)
    if not is_url(target):
        print("softcrank clinic: --db must be the clinic store's postgresql:// URL (or set SOFTCRANK_DB), got %r"
              % (target,), file=sys.stderr)
        return 2
    try:
        with PgRideLog(str(target)) as clinic:
            if args.clinic_command == "init":
                print("clinic store %s at schema version %d" % (clinic.path, clinic.schema_version))
                for line in init_roles(clinic):
                    print(line)
                return 0
            password = _password(args)
            print(add_login(clinic, args.name, args.role, password))
            return 0
    except RideLogError as e:
        print("softcrank clinic: %s" % e, file=sys.stderr)
        return 1
    except ValueError as e:
        print("softcrank clinic: %s" % e, file=sys.stderr)
        return 2
    except Exception as e:  # psycopg's refusals: no right to create roles, a name taken
        if type(e).__module__.startswith("psycopg"):
            print("softcrank clinic: %s" % str(e).strip().splitlines()[0], file=sys.stderr)
            return 1
        raise


def _password(args) -> str | None:
    if args.no_password:
        return None
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n") or None
    return getpass.getpass("password for %s: " % args.name) or None


def add_parsers(sub, db) -> None:
    """`sync` and `clinic` on the parser (parser.py calls this)."""
    sync = sub.add_parser(
        "sync", parents=[db], help="push this laptop's ride log to the clinic store, pull its patients and plans",
        description="Pushes this laptop's ended sessions (samples and events by COPY), patients, caps changes "
        "and audit rows to the clinic's PostgreSQL store, and pulls the clinic's patients and plans. Safe to "
        "cut and run again: nothing arrives twice, nothing is skipped. Says what it moved. The URL's missing "
        "parts come from PG* variables, the password from a pgpass file (docs/clinic.md).")
    sync.add_argument("--to", metavar="URL", help="the clinic store, postgresql://... (default: $%s)" % ENV_CLINIC)
    clinic = sub.add_parser(
        "clinic", help="set up the clinic store: its schema, its roles, logins",
        description="`clinic init --db URL` creates or upgrades the clinic store's schema and the roles "
        "softcrank_ride (record and read) and softcrank_therapist (also plans and caps history); "
        "`clinic user NAME --role ride|therapist --db URL` adds a login in one of them. Run as the "
        "database's owner.")
    steps = clinic.add_subparsers(dest="clinic_command", required=True, metavar="init|user")
    steps.add_parser("init", parents=[db], help="create or upgrade the schema and the two roles")
    user = steps.add_parser("user", parents=[db], help="add a login role for a laptop or a therapist")
    user.add_argument("name", help="the login's name")
    user.add_argument("--role", choices=("ride", "therapist"), required=True, help="its group role")
    user.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    user.add_argument("--no-password", action="store_true", help="no password (the server authenticates otherwise)")
