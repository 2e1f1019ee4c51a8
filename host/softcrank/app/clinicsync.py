"""The app's clinic sync: when SOFTCRANK_CLINIC names a clinic store, the app syncs its ride
log file with it in a worker thread, at start and every SYNC_EVERY_S, and says what moved.

A ride never waits on it: the worker opens its own connections (SQLite's WAL lets it read
while the recorder writes), and a network that is down is one line ("will try again"), not
an error: the laptop keeps recording into its own file and the next sync catches up
(store/sync.py is resumable). docs/clinic.md.
"""

from __future__ import annotations

import os
from typing import Mapping

from ..store.opening import ENV_CLINIC
from ..store.pglog import PgRideLog, is_url
from ..store.ridelog import RideLog, RideLogError
from ..store.sync import sync

SYNC_EVERY_S = 300.0  # five minutes: a session (15-60 min) reaches the clinic soon after it ends


def clinic_url(ridelog, environ: Mapping[str, str] = os.environ) -> str | None:
    """The clinic store to sync with, if one is configured and the app's log is a file."""
    url = environ.get(ENV_CLINIC)
    if not url or not is_url(url) or isinstance(ridelog, PgRideLog):
        return None
    return url


def sync_once(path, url: str) -> tuple[bool, str]:
    """(whether it worked, one line for the screen)."""
    try:
        with RideLog(path) as local, PgRideLog(url) as clinic:
            report = sync(local, clinic)
    except RideLogError as exc:
        return False, "Clinic sync: not now (%s); the ride log is safe here, will try again." % exc
    return True, "Clinic sync: %d sessions, %d samples sent; %d patients, %d plans received." % (
        report.sessions_pushed, report.samples, report.patients_pulled, report.plans_pulled)
