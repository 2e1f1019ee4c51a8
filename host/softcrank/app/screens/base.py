"""What every screen has: the line of screens, the link bar, and the key hints at the bottom."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from ..widgets.linkbar import LinkBar
from ..widgets.navbar import NavBar


class AppScreen(Screen):
    """Subclasses set MODE and write body()."""

    MODE = ""

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield LinkBar(id="linkbar")
        yield from self.body()
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()
