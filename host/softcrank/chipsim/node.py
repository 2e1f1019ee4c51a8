"""Node.js and rp2040js for the emulated RP2040: found on this machine, installed on first use.

rp2040js (npm, pinned to RP2040JS_VERSION) goes into a cache folder with the machine's own
`npm` the first time `softcrank sim --chip` runs, and is reused after that. Node.js itself is
not installed by softcrank: a clear error names what is missing.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

RP2040JS_VERSION = "1.4.1"  # the emulator the figures in docs/performance.md were measured on
NODE_MAJOR_MIN = 18  # rp2040js's ES modules and top-level await
HARNESS = pathlib.Path(__file__).with_name("harness.mjs")


class ChipSimError(RuntimeError):
    """The emulated chip cannot start: says what is missing and how to get it."""


def cache_dir() -> pathlib.Path:
    """Where rp2040js is installed: $SOFTCRANK_CACHE or $XDG_CACHE_HOME/softcrank or ~/.cache/softcrank."""
    base = os.environ.get("SOFTCRANK_CACHE")
    if base:
        return pathlib.Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (pathlib.Path(xdg) if xdg else pathlib.Path.home() / ".cache") / "softcrank"


def node() -> str:
    """The node binary, checked to be recent enough."""
    found = shutil.which("node")
    if not found:
        raise ChipSimError("the emulated RP2040 needs Node.js %d or later (`node` is not on PATH): install "
                           "it from your system's packages (Debian: apt-get install nodejs npm)" % NODE_MAJOR_MIN)
    try:
        version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        major = int(version.lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError):
        raise ChipSimError("%s does not say its version: the emulated RP2040 needs Node.js %d or later"
                           % (found, NODE_MAJOR_MIN))
    if major < NODE_MAJOR_MIN:
        raise ChipSimError("the emulated RP2040 needs Node.js %d or later; %s is %s" % (NODE_MAJOR_MIN, found, version))
    return found


def rp2040js() -> pathlib.Path:
    """The folder holding node_modules/rp2040js at RP2040JS_VERSION; installs it on first use."""
    home = cache_dir() / ("rp2040js-" + RP2040JS_VERSION)
    package = home / "node_modules" / "rp2040js" / "package.json"
    if package.exists():
        return home
    npm = shutil.which("npm")
    if not npm:
        raise ChipSimError("the emulated RP2040 needs rp2040js %s from npm, and `npm` is not on PATH: install "
                           "npm (Debian: apt-get install npm), or put rp2040js in %s yourself "
                           "(npm install --prefix %s rp2040js@%s)" % (RP2040JS_VERSION, home, home, RP2040JS_VERSION))
    home.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([npm, "install", "--prefix", str(home), "--no-audit", "--no-fund", "--silent",
                          "rp2040js@" + RP2040JS_VERSION], capture_output=True, text=True, timeout=600)
    if run.returncode != 0 or not package.exists():
        raise ChipSimError("npm could not install rp2040js %s into %s: %s"
                           % (RP2040JS_VERSION, home, (run.stderr or run.stdout).strip()[-500:]))
    return home
