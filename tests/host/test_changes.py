"""Which steps of caps or plan are large enough to ask a second confirmation (clinical/changes.py)."""

from softcrank.clinical.changes import LARGE_MIN, LARGE_RES_PTS, changes, large_steps

LABELS = {"max_res_pct": "Resistance cap, %", "max_dur_min": "Session cap, min", "res_pct": "Work resistance, %",
          "dur_min": "Work, min", "max_cad_rpm": "Cadence cap, rpm"}


def test_the_thresholds_are_twice_the_progression_steps():
    assert (LARGE_RES_PTS, LARGE_MIN) == (10, 5)  # a change here changes what the user guide promises


def test_more_than_ten_points_or_five_minutes_up_is_large_and_no_less():
    before = {"max_res_pct": 20, "max_dur_min": 15, "res_pct": 10, "dur_min": 6, "max_cad_rpm": 30}
    assert large_steps(before, dict(before, max_res_pct=30, res_pct=20, max_dur_min=20, dur_min=11), LABELS) == []
    found = large_steps(before, dict(before, max_res_pct=31, dur_min=12), LABELS)
    assert found == ["Resistance cap, % 20 -> 31: +11 points, more than +10", "Work, min 6 -> 12: +6 minutes, more than +5"]
    assert large_steps(before, dict(before, res_pct=21, max_dur_min=21), LABELS) == [
        "Session cap, min 15 -> 21: +6 minutes, more than +5", "Work resistance, % 10 -> 21: +11 points, more than +10"]


def test_lowering_is_never_large_and_other_fields_are_not_steps():
    before = {"max_res_pct": 100, "max_dur_min": 60, "max_cad_rpm": 30}
    after = dict(before, max_res_pct=0, max_dur_min=5, max_cad_rpm=120)
    assert large_steps(before, after, LABELS) == []
    assert changes(before, after) == [("max_res_pct", 100, 0), ("max_dur_min", 60, 5), ("max_cad_rpm", 30, 120)]
