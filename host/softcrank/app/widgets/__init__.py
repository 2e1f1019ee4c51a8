"""Widgets of the softcrank app, one job each: the link bar, the cadence figure, the force bars,
the banners that cannot be missed, and plots (textual-plotext)."""
