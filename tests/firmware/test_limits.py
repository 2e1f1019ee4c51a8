"""The therapist's caps and the session goals: safe defaults, whole-or-nothing validation."""

from softcrank_fw.limits import CAP_LIMITS, GOAL_LIMITS, Caps, Goals
from softcrank_fw.protocol import NAK_ARGS, NAK_RANGE


def test_safety_defaults_do_not_change_silently():
    # A change here must be a deliberate, documented decision (docs/firmware.md).
    assert CAP_LIMITS == (
        (20, 0, 100), (15, 1, 90), (30, 5, 120), (250, 50, 1500),
        (5, 1, 30), (300, 0, 1200), (180, 0, 1200), (250, 50, 1500), (0, 0, (1 << 30) - 1),
    )
    assert GOAL_LIMITS == ((10, 1, 90), (15, 0, 150), (25, 0, 150), (10, 0, 100))


def test_default_caps_are_gentle():
    caps = Caps()
    assert caps.max_res_pct == 20 and caps.max_cad_rpm == 30 and caps.warmup_s == 300


def test_caps_within_range_are_applied():
    caps = Caps()
    assert caps.set([40, 30, 35, 300, 10, 240, 120, 200, 7]) == 0
    assert caps.values == [40, 30, 35, 300, 10, 240, 120, 200, 7]
    assert caps.max_res_pct == 40 and caps.cooldown_s == 120
    assert (caps.spasm_n, caps.spasm_r_n, caps.patient) == (300, 200, 7)  # per leg, and whose
    assert caps.set([40, 30, 35, 300, 10, 240, 120, 250]) == 0  # the limits alone: the patient stays
    assert caps.values == [40, 30, 35, 300, 10, 240, 120, 250, 7]


def test_one_bad_cap_refuses_the_whole_change():
    caps = Caps()
    before = list(caps.values)
    assert caps.set([40, 30, 35, 300, 10, 240, 5000, 300]) == NAK_RANGE
    assert caps.set([40, 30, 35, 300, 10, 240]) == NAK_ARGS
    assert caps.set([40, 30, 35, 300, "10", 240, 120]) == NAK_ARGS
    assert caps.set([40, 5, 35, 300, 10, 300, 120, 300]) == NAK_RANGE  # warm-up leaves no work time
    assert caps.values == before and caps.max_res_pct == before[0]


def test_goals_are_clamped_to_the_caps():
    caps = Caps()
    goals = Goals(caps)
    assert goals.set([60, 20, 45, 80], caps) == 0
    assert goals.values == [10, 20, 30, 20]  # 15 min cap - 5 min warm-up; 30 rpm; 20 %


def test_lowering_a_cap_lowers_the_goals_with_it():
    caps = Caps()
    goals = Goals(caps)
    goals.set([10, 20, 28, 15], caps)
    caps.set([10, 15, 22, 250, 5, 300, 180, 250])
    goals.clamp(caps)
    assert goals.res_pct == 10 and goals.cad_hi_rpm == 22 and goals.cad_lo_rpm == 20


def test_a_band_upside_down_is_refused():
    caps = Caps()
    goals = Goals(caps)
    before = list(goals.values)
    assert goals.set([10, 25, 15, 10], caps) == NAK_RANGE
    assert goals.values == before
