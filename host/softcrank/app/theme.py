"""The app's high-contrast theme: white on black, yellow for what to look at, red for alarms.

CLINICAL.md: riders may be older, tired, or see poorly. Every colour pair here is over 7:1
(WCAG AAA) except the alarm red on black (5.3:1), which always comes with words and reverse video.
"""

from textual.theme import Theme

HIGH_CONTRAST = Theme(
    name="softcrank-high-contrast",
    primary="#FFD700",
    secondary="#00E5FF",
    accent="#FFD700",
    warning="#FFD700",
    error="#FF4040",
    success="#3DFF3D",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#202020",
    dark=True,
)
