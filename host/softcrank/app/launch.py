"""Starting the app: `softcrank` (the clinic's ride log, any trainer) and `softcrank demo`
(a demo ride log, the virtual trainer, a demo patient with past sessions).

The demo never touches the user's ride log: unless --db names a file, its ride log is a
temporary folder's demo.sqlite, deleted when the app closes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ..boardfiles import scenario_path
from ..sim.demo import DEMO_KEY
from ..sim.demo_history import DEMO_BY, DEMO_CAPS, demo_patient, ride_history
from ..sim.virtual_board import VirtualBoard
from ..store.opening import open_store
from ..store.ridelog import RideLog
from ..trainer.therapist import has_pin, send_caps, set_pin, unlock
from .app import SoftcrankApp

DEMO_PIN = "123456"  # the demo's therapist PIN, printed by `softcrank demo --help`
APP_SPEED = 1.0  # a real trainer, or the virtual one started from the Connect screen: real time


def run_app(db: str | None = None, port: str | None = None) -> int:
    """The app on the user's ride log; `port` connects at start once a patient is chosen."""
    with open_store(db) as log:  # a file, or a clinic store's postgresql:// URL
        app = SoftcrankApp(log, port=port, speed=APP_SPEED,
                           virtual_board=lambda: VirtualBoard(speed=APP_SPEED))
        app.run()
    return 0


def run_demo_app(speed: float, scenario: str | None = None, seed: int | None = None, db: str | None = None) -> int:
    """The app on the virtual trainer at `speed` times real time, with the demo patient."""
    folder = None if db else tempfile.mkdtemp(prefix="softcrank-demo-")
    path = Path(db) if db else Path(folder) / "demo.sqlite"
    board = VirtualBoard(scenario=scenario or str(scenario_path("demo")), seed=seed, speed=speed, key=DEMO_KEY)
    try:
        patient_id = demo_patient(path)
        board.start()
        with RideLog(path) as log:
            if not has_pin(log):
                set_pin(log, DEMO_PIN, demo=True)  # a throw-away ride log: no credential store, no policy

            def demo_caps(trainer) -> None:  # the demo patient's caps onto the virtual trainer
                device = trainer.link.info["H"]["device"]
                if log.device_key(device) is None:  # what `softcrank deploy` does for a real trainer
                    unlock(log, DEMO_PIN, "demo: the virtual trainer's key").store_device_key(device, DEMO_KEY)
                send_caps(trainer.link, log, patient_id, DEMO_CAPS, DEMO_PIN, DEMO_BY, "demo: caps onto the trainer",
                          send=trainer.command)

            app = SoftcrankApp(log, port=board.port, patient_id=patient_id, speed=speed,
                               history=lambda each, stop: ride_history(path, patient_id, on_session=each, stop=stop),
                               virtual_board=lambda: board, on_connect=demo_caps)
            app.board = board
            app.run()
    finally:
        board.stop()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    return 0
