"""The figures and words a person reads: a session's summary, trends across sessions, the
report `softcrank show` prints and Review shows, the words for states and events."""
