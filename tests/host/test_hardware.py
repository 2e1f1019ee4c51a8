"""The reference build holds together: hardware/pinmap.json fits a Raspberry Pi Pico and the
Pico board module, the bill of materials has the parts the pin map and the fail-safe need, and
hardware/README.md's pin table says what the JSON says."""

import csv
import json
import pathlib
import re

import pytest

from softcrank_pico import pins

HARDWARE = pathlib.Path(__file__).resolve().parents[2] / "hardware"

# The Pico's 40-pin header: GPIO number -> physical pin. GP23 (SMPS mode), GP24 (VBUS sense)
# and GP25 (the on-board LED) are not on it.
PICO_HEADER = {
    0: 1, 1: 2, 2: 4, 3: 5, 4: 6, 5: 7, 6: 9, 7: 10, 8: 11, 9: 12, 10: 14, 11: 15, 12: 16,
    13: 17, 14: 19, 15: 20, 16: 21, 17: 22, 18: 24, 19: 25, 20: 26, 21: 27, 22: 29,
    26: 31, 27: 32, 28: 34,
}
ONBOARD_LED = 25
ADC_GPIOS = {26, 27, 28}
DEBUG_UART_GPIOS = {0, 1}
PIN_KEYS = {"gpio", "mode", "note", "pull", "active"}  # the documented keys of a pin entry
BOM_HEADER = ["part", "part_number", "quantity", "approx_price_eur", "why"]


def pwm_slice(gpio):
    return (gpio >> 1) & 7


def pwm_channel(gpio):
    return "B" if gpio & 1 else "A"


@pytest.fixture(scope="module")
def pinmap():
    return json.loads((HARDWARE / "pinmap.json").read_text())


@pytest.fixture(scope="module")
def gpio(pinmap):
    return {name: entry["gpio"] for name, entry in pinmap["pins"].items()}


@pytest.fixture(scope="module")
def bom():
    with open(HARDWARE / "bom.csv", newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def readme():
    return (HARDWARE / "README.md").read_text()


def bom_rows(bom, *words):
    """The BOM rows whose part names all of `words` (case-insensitive)."""
    return [row for row in bom[1:] if all(w.lower() in row[0].lower() for w in words)]


def readme_pin_rows(readme):
    """The pin table's rows: name -> dict of its columns."""
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and re.fullmatch(r"GP\d+", cells[0]):
            gp, header, name, mode, pull, active, note = cells
            rows[name.strip("`")] = {"gpio": int(gp[2:]), "header": header, "mode": mode,
                                     "pull": pull, "active": active, "note": note}
    return rows


# The pin map against the board module


def test_the_pin_map_passes_the_board_modules_own_check(pinmap):
    gpio, edges = pins.parse(pinmap)
    assert gpio == {name: entry["gpio"] for name, entry in pinmap["pins"].items()}
    assert edges == 24


def test_the_pin_map_names_exactly_the_pins_the_board_needs(pinmap):
    # parse() ignores unknown names, so an extra entry would be a pin nothing reads.
    assert set(pinmap["pins"]) == set(pins.REQUIRED)


def test_every_pin_has_a_note_and_only_documented_keys(pinmap):
    for name, entry in pinmap["pins"].items():
        assert set(entry) <= PIN_KEYS, name
        assert isinstance(entry["note"], str) and entry["note"].strip(), name
        assert entry.get("pull") in ("up", "down", None), name
        assert entry.get("active", "high") in ("high", "low"), name
        assert "|" not in entry["note"], name  # it goes into a markdown table


def test_the_pin_map_is_for_a_pico_with_24_crank_edges(pinmap):
    assert pinmap["board"] == "rpi-pico"
    assert pinmap["edges_per_rev"] == 24


# The pin map against the RP2040 and the Pico's header


def test_every_gpio_is_on_the_picos_header_except_the_on_board_led(gpio):
    for name, n in gpio.items():
        if name == "led":
            assert n in PICO_HEADER or n == ONBOARD_LED
        else:
            assert n in PICO_HEADER, "%s: GP%d is not on the Pico's header" % (name, n)


def test_only_the_led_may_use_the_on_board_led_gpio(gpio):
    assert [name for name, n in gpio.items() if n == ONBOARD_LED] in ([], ["led"])


def test_no_gpio_is_used_twice(gpio):
    assert len(set(gpio.values())) == len(gpio)


def test_adc_mode_is_only_on_the_adc_pins(pinmap):
    for name, entry in pinmap["pins"].items():
        if entry["mode"] == "adc":
            assert entry["gpio"] in ADC_GPIOS, name


def test_the_debug_uart_and_adc_pins_are_left_free(gpio):
    assert not (set(gpio.values()) & (DEBUG_UART_GPIOS | ADC_GPIOS))


def test_no_two_pwm_pins_share_a_slice_and_channel(pinmap):
    outputs = [(pwm_slice(e["gpio"]), pwm_channel(e["gpio"]))
               for e in pinmap["pins"].values() if e["mode"] == "pwm"]
    assert len(set(outputs)) == len(outputs)


def test_the_brake_and_the_buzzer_run_on_different_pwm_slices_so_each_has_its_own_frequency(gpio):
    assert pwm_slice(gpio["brake_pwm"]) != pwm_slice(gpio["buzzer"])


def test_the_crank_channels_are_adjacent_for_one_pio_program(gpio):
    assert gpio["crank_b"] == gpio["crank_a"] + 1


# The pin map's safety meaning


def test_the_brake_gate_is_pulled_down_so_an_undriven_pin_means_brake_off(pinmap):
    brake = pinmap["pins"]["brake_pwm"]
    assert brake["pull"] == "down" and brake["active"] == "high"


def test_the_estop_reads_high_when_pressed_so_a_cut_wire_reads_as_pressed(pinmap):
    estop = pinmap["pins"]["estop"]
    assert estop["pull"] == "up" and estop["active"] == "high"


def test_the_open_drain_crank_sensors_are_pulled_up(pinmap):
    assert pinmap["pins"]["crank_a"]["pull"] == pinmap["pins"]["crank_b"]["pull"] == "up"


# The bill of materials


def test_the_bom_has_the_exact_header(bom):
    assert bom[0] == BOM_HEADER


def test_every_bom_row_has_a_positive_whole_quantity_a_positive_price_and_a_reason(bom):
    for row in bom[1:]:
        assert len(row) == len(BOM_HEADER), row
        part, _, quantity, price, why = row
        assert re.fullmatch(r"[1-9]\d*", quantity), part
        assert float(price) > 0, part
        assert part.strip() and why.strip(), part


def test_the_bom_lists_the_parts_the_pin_map_needs(bom):
    def quantity(*words):
        rows = bom_rows(bom, *words)
        assert len(rows) == 1, "want one BOM row for %s, found %d" % (" ".join(words), len(rows))
        return int(rows[0][2])

    assert quantity("Raspberry Pi Pico") >= 1
    assert quantity("HX711", "ADC") >= 2
    assert quantity("load cell", "kg") >= 2
    assert quantity("hall-effect") >= 2  # quadrature A and B
    assert quantity("N-MOSFET") >= 1
    assert quantity("piezo") >= 1


def test_the_bom_has_the_brakes_fail_safe_parts(bom):
    (estop,) = bom_rows(bom, "emergency-stop")
    assert "2 NC" in estop[0]  # one contact cuts brake power, one tells the Pico
    assert bom_rows(bom, "flyback")
    assert bom_rows(bom, "10 kOhm", "gate pull-down")
    assert bom_rows(bom, "100 Ohm", "gate resistor")
    assert bom_rows(bom, "fuse")


def test_the_readme_quotes_the_boms_total_to_the_nearest_5_eur(bom, readme):
    total = sum(int(row[2]) * float(row[3]) for row in bom[1:])
    quoted = re.search(r"about (\d+) EUR", readme)
    assert quoted and int(quoted.group(1)) == 5 * round(total / 5)


# The README's pin table


def test_the_readme_pin_table_agrees_with_the_pin_map(pinmap, readme):
    table = readme_pin_rows(readme)
    assert set(table) == set(pinmap["pins"])
    for name, entry in pinmap["pins"].items():
        row = table[name]
        assert row["gpio"] == entry["gpio"], name
        assert row["mode"] == entry["mode"], name
        assert row["pull"] == (entry.get("pull") or "-"), name
        assert row["active"] == (entry.get("active") or "-"), name
        assert row["note"] == entry["note"], name


def test_the_readme_pin_table_gives_the_right_header_pins(readme):
    for name, row in readme_pin_rows(readme).items():
        expected = PICO_HEADER.get(row["gpio"], "on-board")
        assert row["header"] == str(expected), name
