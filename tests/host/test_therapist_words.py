"""The therapist screen's results and errors in words, never a raw dict or list (issue 15 item 1)."""

from softcrank.app.screens.therapist import plan_problem
from softcrank.clinical.words import caps_words, event_counts, goals_words

CAPS = [20, 15, 30, 250, 5, 300, 180, 250]


def test_a_plan_above_the_caps_says_what_the_trainer_would_hold_in_words():
    text = plan_problem([10, 15, 25, 30], CAPS)
    assert text == ("Above the caps: Work resistance, % (the trainer would hold work 10 min, cadence 15 to 25 rpm, "
                    "resistance 20 %).")
    assert "[" not in text and "{" not in text


def test_caps_goals_and_events_read_as_words():
    caps = dict(zip(("max_res_pct", "max_dur_min", "max_cad_rpm", "spasm_n", "ramp_pct_min", "warmup_s",
                     "cooldown_s", "spasm_r_n"), CAPS))
    assert caps_words(caps).startswith("resistance at most 20 %, session at most 15 min, cadence at most 30 rpm")
    assert goals_words({"dur_min": 8, "cad_lo_rpm": 15, "cad_hi_rpm": 25, "res_pct": 10}) == \
        "work 8 min, cadence 15 to 25 rpm, resistance 10 %"
    assert event_counts({"HOST_BACK": 1, "COOLDOWN": 1, "DONE": 1}) == \
        "work done 1, session complete 1, link to the laptop back 1"
    assert event_counts({}) == "none"
