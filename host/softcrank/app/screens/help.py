"""Help: the keys, and what the screens are for, in plain words."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# softcrank: keys

Every screen: **F1** or **?** this help, **F2** Connect, **F3** Patient, **F4** Ride,
**F5** Review, **F6** Progress, **F7** Therapist, **ctrl+q** quit. The mouse works too.
The bottom line always shows the keys of the screen you are on.

## Ride (for the rider)
- **s** start a session: warm-up, work, cool-down, as the therapist planned
- **space** pause, and again to carry on
- **x** stop the session (also clears an emergency stop or a fault)
- **e** EMERGENCY STOP: resistance off at once, ahead of anything else being sent
- **r** the results of the last session (they also come up by themselves when one ends)

The first big number is your cadence (pedal turns a minute); the words under it say whether
you are in the target band, too slow or too fast. The second is the session's time left. The
bars show how hard each foot pushes. A key that cannot do anything now is refused in words.

## Therapist
Behind a PIN: the caps (the trainer enforces them), the session plan, and who changed what.
**ctrl+s** sends the caps, **ctrl+p** saves the plan, **ctrl+l** locks the screen again.

## Review and Progress
Review: **Enter** opens a session, **o** sorts, **w**, **f**, **t** write it as CSV, FIT or TCX, and the tabs
(click, or Tab then the arrow keys) show its plots, summary and events. Progress: the
patient's trends and sessions a week against the plan.

Press **Escape** to close this help.
"""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,f1,question_mark,q", "close", "Close help")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss()
