"""docs/safety.md holds together: every hazard the issue lists has a row, every row names tests
that exist (pytest runs them all, so existing means passing when the suite passes), and the
flywheel row's arithmetic is right."""

import math
import pathlib
import re

from softcrank_fw.limits import CAP_LIMITS

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "safety.md").read_text()
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)(?:\[[^\]]*\])?`")

REQUIRED = ("above the cap", "rising too fast", "spasm", "e-stop", "overspeed", "too long",
            "disconnected", "saturated", "stuck", "noisy", "crank sensor bounce", "crank sensor failure",
            "exception", "ctrl-c", "hang", "brownout", "host crash", "link loss", "not reading",
            "corrupted or replayed frames", "without authorisation", "corrupted caps in flash", "flywheel",
            # issue 12
            "flexor spasm", "clonus", "stops, or faints", "zero or scale", "bridge wire", "stalls, then reverses",
            "another patient", "repl", "mechanical", "spasms in a train", "lost over and over")


def rows():
    table = TEXT[TEXT.index("## Hazards"):TEXT.index("## How the figures")]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].isdigit():
            yield int(cells[0]), cells


def test_the_essential_performance_is_one_sentence():
    start = TEXT.index("**Essential performance, in one sentence:**")
    paragraph = " ".join(TEXT[start:TEXT.index("\n\n", start)].split())
    assert paragraph.endswith(".") and paragraph.count(". ") == 0 and "brake to zero" in paragraph


def test_every_hazard_the_safety_case_must_cover_has_a_row():
    hazards = " ".join(cells[1].lower() for _, cells in rows())
    missing = [h for h in REQUIRED if h not in hazards]
    assert not missing, missing


def test_every_row_names_tests_that_exist():
    for number, cells in rows():
        refs = TEST_REF.findall(cells[4])
        assert refs, "row %d names no test" % number
        assert cells[5], "row %d has no figure" % number
        for path, name in refs:
            source = ROOT / path
            assert source.exists(), "row %d: %s does not exist" % (number, path)
            assert re.search(r"^def %s\(" % name, source.read_text(), re.MULTILINE), \
                "row %d: %s has no %s" % (number, path, name)


def test_the_flywheel_arithmetic_and_the_cadence_cap_bound_the_energy_at_the_foot():
    """hardware/README.md, *Freewheel or fixed wheel*: the energy a flywheel stores at the
    cadence cap, and the force a stiff leg takes stopping it within 10 degrees of crank."""
    cap_rpm = CAP_LIMITS[2][0]
    assert cap_rpm == 30  # the cadence the README's arithmetic uses

    def energy_j(mass_kg, radius_m, gearing):
        inertia = 0.5 * mass_kg * radius_m ** 2
        omega = cap_rpm * gearing * 2 * math.pi / 60
        return 0.5 * inertia * omega ** 2

    def force_n(energy):
        return energy / math.radians(10) / 0.170  # over 10 degrees, on a 170 mm crank

    under_desk = energy_j(1.5, 0.1, 1)
    geared = energy_j(8, 0.125, 8)
    assert round(under_desk, 2) == 0.04 and under_desk < 1  # the README's rule of thumb: under 1 J
    assert round(geared) == 20 and 650 <= force_n(geared) <= 690  # "670 N on the foot"
    assert force_n(1.0) < 40  # 1 J is "about 34 N at the pedal"
    readme = (ROOT / "hardware" / "README.md").read_text()
    assert "**Recommendation for neuro rehab:** a freewheel" in readme and "670 N on the foot" in readme
