"""Boot file: MicroPython runs this at every reset (`softcrank deploy` copies it to the board).

Runs the firmware on the board config.json names: the Pico unless it says otherwise. If the
file `maintenance` exists, the firmware does not start: no control loop, no watchdog, the
brake off (at reset every GPIO is an input and the MOSFET gate's pull-down holds the brake
off), and the REPL stays free. `softcrank deploy` uses that to copy files safely: MicroPython
has no call to stop an RP2040's watchdog once started (the firmware's own Ctrl-C path clears
it in the hardware register, but a board that crashed or hung has no one to do that), and a
running watchdog would reset the board in the middle of a copy.
"""

import json


def _config():
    try:
        with open("config.json") as f:
            config = json.load(f)
        return config if isinstance(config, dict) else {}
    except (OSError, ValueError):
        return {}  # no or unreadable config: the Pico, with its defaults


def _maintenance():
    try:
        open("maintenance").close()
        return True
    except OSError:
        return False


if _maintenance():
    print("softcrank: maintenance mode, firmware not started; remove 'maintenance' and reset to run it")
elif _config().get("board", "pico") == "sim":
    from softcrank_sim.main import main

    main(_config())
else:
    from softcrank_pico.main import main

    main()
