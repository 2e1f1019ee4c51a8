"""A figure in digits five rows tall, readable from a metre away on an 80x24 terminal.

The digits come from pyfiglet's "ansi_regular" font (full blocks, 5 rows, 7 columns a
digit): Textual's own Digits are 3 rows, too small for an older rider at 80x24. A caption
above and a line of words below say what the figure is, so it never stands alone.
"""

from __future__ import annotations

from functools import lru_cache

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

FONT = "ansi_regular"
ROWS = 5  # the font's digits are 5 rows; its last lines are blank and dropped


@lru_cache(maxsize=256)
def big(text: str) -> str:
    """`text` (digits, ':', '.', '-') in the large font, exactly ROWS lines."""
    import pyfiglet

    lines = pyfiglet.figlet_format(text, font=FONT, width=200).split("\n")
    return "\n".join(line.rstrip() for line in lines[:ROWS])


class BigFigure(Vertical):
    """A caption, the figure in large digits, and words underneath (e.g. the band)."""

    def __init__(self, caption: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self._caption = caption

    def compose(self) -> ComposeResult:
        yield Static(self._caption, classes="caption big-caption")
        yield Static(big("--"), classes="big-digits")
        yield Static("", classes="big-words")

    def caption(self, caption: str) -> None:
        self.query_one(".big-caption", Static).update(caption)

    def show(self, text: str, words: str = "", css: str = "") -> None:
        self.query_one(".big-digits", Static).update(big(text))
        under = self.query_one(".big-words", Static)
        under.update(words)
        under.set_classes("big-words %s" % css)
