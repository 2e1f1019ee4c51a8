"""Caps (the therapist's limits) and goals (one session's plan), validated as a whole.

Every number here matters to safety: each is named once, with the reason for its value,
and tests/firmware/test_limits.py fails if one changes silently. docs/firmware.md repeats
the table with the clinical reasoning.
"""

from softcrank_fw.protocol import CAPS_FIELDS, GOALS_FIELDS, NAK_ARGS, NAK_RANGE

# (default, lowest accepted, highest accepted) for each cap, in CAPS_FIELDS order.
CAP_LIMITS = (
    # Maximum resistance, % of the brake's range. 20 %: "start small": light enough for a
    # weak leg to turn the crank; the therapist raises it as the patient progresses.
    (20, 0, 100),
    # Maximum session length (warm-up + work), minutes. 15: early rehab sessions run
    # 10-20 minutes; stopping before exhaustion matters more than finishing a plan.
    (15, 1, 90),
    # Maximum cadence, rpm. 30: commercial rehab trainers ship 20-35 rpm start presets;
    # 120 is past any rehab use. Slow, controlled pedalling is the goal.
    (30, 5, 120),
    # Spasm threshold of the left pedal, newtons, pushing or pulling (spasm_r_n below is the
    # right's). 250 N: well above the 50-150 N a rider pushes at rehab resistances, well below
    # a spasm's extensor thrust.
    (250, 50, 1500),
    # Ramp rate, % of the brake's range per minute. 5: from 0 to the default 20 % cap takes
    # 4 minutes, so resistance never surprises anyone.
    (5, 1, 30),
    # Warm-up, seconds. 300: commercial trainers warm up passively or lightly for ~5 minutes.
    (300, 0, 1200),
    # Cool-down, seconds. 180: three minutes of unloaded pedalling to finish gently.
    (180, 0, 1200),
    # Spasm threshold of the right pedal, newtons (spasm_n above is the left pedal's): the
    # affected side often needs a lower one. Same default and range.
    (250, 50, 1500),
    # The patient the caps were set for: the host's patient id, 0 for no one named. Not a
    # limit: it says whom the limits belong to, so a host can refuse to ride on another
    # patient's caps (docs/safety.md, row 30). Any id a protocol integer can hold.
    (0, 0, (1 << 30) - 1),
)
PATIENT = 8  # the index of `patient` in the caps values: the last, so a host may leave it out

# (default, lowest, highest accepted on the wire) for each goal, in GOALS_FIELDS order.
# Goals are then clamped to the caps (a goal never exceeds a cap): see Goals.clamp().
GOAL_LIMITS = (
    (10, 1, 90),  # work time, minutes
    (15, 0, 150),  # target cadence band, low end, rpm
    (25, 0, 150),  # target cadence band, high end, rpm
    (10, 0, 100),  # work resistance, % of the brake's range
)

# The warm-up leaves at least this long for work within the session cap.
MIN_WORK_S = 60


class Caps:
    """The therapist's caps. Attribute names are the protocol's CAPS field names."""

    def __init__(self):
        self.values = [lim[0] for lim in CAP_LIMITS]
        self._sync()

    def set(self, values):
        """Validate every value, then apply all of them; returns 0 or a NAK code. Without the
        trailing patient (the limits alone, as a ride log holds them), the patient stays."""
        if len(values) == PATIENT:
            values = list(values) + [self.values[PATIENT]]
        code = self.validate(values)
        if code:
            return code
        for i in range(len(values)):
            self.values[i] = values[i]
        self._sync()
        return 0

    @staticmethod
    def validate(values):
        """0 if set(values) would take them, else the NAK code it would refuse them with."""
        if len(values) == PATIENT:
            values = list(values) + [0]
        code = check(values, CAP_LIMITS)
        if code:
            return code
        max_dur_min, warmup_s = values[1], values[5]
        if warmup_s + MIN_WORK_S > max_dur_min * 60:
            return NAK_RANGE
        return 0

    def _sync(self):
        v = self.values
        self.max_res_pct = v[0]
        self.max_dur_min = v[1]
        self.max_cad_rpm = v[2]
        self.spasm_n = v[3]  # the left pedal's
        self.spasm_r_n = v[7]
        self.patient = v[8]
        self.ramp_pct_min = v[4]
        self.warmup_s = v[5]
        self.cooldown_s = v[6]


class Goals:
    """One session's plan, always within the caps."""

    def __init__(self, caps):
        self.values = [lim[0] for lim in GOAL_LIMITS]
        self.clamp(caps)

    def set(self, values, caps):
        """Validate, apply and clamp to caps; returns 0 or a NAK code."""
        code = check(values, GOAL_LIMITS)
        if code:
            return code
        if values[1] > values[2]:  # the band's low end above its high end
            return NAK_RANGE
        for i in range(len(values)):
            self.values[i] = values[i]
        self.clamp(caps)
        return 0

    def clamp(self, caps):
        """Bring every goal within the caps; called whenever the caps change too."""
        v = self.values
        v[0] = max(1, min(v[0], (caps.max_dur_min * 60 - caps.warmup_s) // 60))
        v[2] = min(v[2], caps.max_cad_rpm)
        v[1] = min(v[1], v[2])
        v[3] = min(v[3], caps.max_res_pct)
        self.dur_min, self.cad_lo_rpm, self.cad_hi_rpm, self.res_pct = v[0], v[1], v[2], v[3]


def check(values, limits):
    """0 if values has the right length and every value is an int within its limits."""
    if len(values) != len(limits):
        return NAK_ARGS
    for value, lim in zip(values, limits):
        if not isinstance(value, int):
            return NAK_ARGS
        if value < lim[1] or value > lim[2]:
            return NAK_RANGE
    return 0


assert len(CAP_LIMITS) == len(CAPS_FIELDS) and len(GOAL_LIMITS) == len(GOALS_FIELDS)
