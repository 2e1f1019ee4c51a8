"""softcrank: the host side (CLI and, later, the Textual app) of the softcrank trainer."""

from softcrank_fw import FIRMWARE_VERSION as __version__

__all__ = ["__version__"]
