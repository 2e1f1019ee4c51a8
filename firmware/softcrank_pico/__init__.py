"""The real board: a Raspberry Pi Pico (RP2040) driving a softcrank trainer."""
