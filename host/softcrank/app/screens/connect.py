"""Connect: choose the trainer: a Pico found on USB, the virtual trainer, or a port by name."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ...trainer.ports import PICO_USB
from ..widgets.firststeps import FirstSteps
from .base import AppScreen

VIRTUAL = "virtual"


def detected_picos() -> list[tuple[str, str]]:
    """(port, description) of each Pico running MicroPython on USB (by its USB ids)."""
    try:
        from serial.tools import list_ports
    except ImportError:
        return []
    return [(p.device, p.description or "Raspberry Pi Pico") for p in list_ports.comports()
            if (p.vid, p.pid) == PICO_USB]


class ConnectScreen(AppScreen):
    MODE = "connect"
    BINDINGS = [Binding("r", "rescan", "Look again"), Binding("enter", "choose", "Connect", show=False)]

    def body(self) -> ComposeResult:
        yield FirstSteps(id="first-steps", markup=False)  # "[x]" is not a style tag
        yield Static("Choose the trainer. Up and down to move, Enter to connect.", classes="intro")
        yield OptionList(id="trainers")
        yield Static("Or type a port (/dev/ttyACM0, COM3, a `softcrank sim` port) and press Enter:")
        yield Input(placeholder="port", id="port")

    def on_mount(self) -> None:
        self.action_rescan()

    def on_screen_resume(self) -> None:
        self.query_one(FirstSteps).refresh_steps()

    @work(thread=True, exclusive=True)
    def action_rescan(self) -> None:
        picos = getattr(self.app, "find_trainers", detected_picos)()
        self.app.call_from_thread(self._fill, picos)

    def _fill(self, picos: list[tuple[str, str]]) -> None:
        options = self.query_one("#trainers", OptionList)
        options.clear_options()
        for port, description in picos:
            options.add_option(Option("Trainer on %s (%s)" % (port, description), id=port))
        if not picos:
            options.add_option(Option("No Pico found on USB (r: look again)", id="none", disabled=True))
        if getattr(self.app, "_virtual_board", None) is not None or getattr(self.app, "board", None) is not None:
            options.add_option(Option("The virtual trainer: the real firmware on this laptop, a virtual rider",
                                      id=VIRTUAL))
        options.focus()

    @on(OptionList.OptionSelected, "#trainers")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        choice = event.option.id
        if choice == VIRTUAL:
            self.app.start_virtual_trainer()
        elif choice and choice != "none":
            self.app.connect(choice)
        self.app.switch_mode("ride" if self.app.patient else "patient")

    @on(Input.Submitted, "#port")
    def _typed(self, event: Input.Submitted) -> None:
        port = event.value.strip()
        if not port:
            self.notify("Type a port first.", severity="warning")
            return
        self.app.connect(port)
        self.app.switch_mode("ride" if self.app.patient else "patient")

    def action_choose(self) -> None:
        self.query_one("#trainers", OptionList).action_select()
