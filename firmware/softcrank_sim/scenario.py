"""Scenario files: what the virtual rider does, and what goes wrong, over a ride.

A scenario is a JSON object (docs/firmware.md, *Scenarios*, documents every key):

    {"format": 1, "name": "...", "seed": 1, "edges_per_rev": 24,
     "rider": {"cadence_rpm": 20, "left_strength": 1.0, "right_strength": 0.6, ...},
     "events": [{"at_s": 600, "spasm": {"side": "left", "force_n": 450, "duration_s": 2}}, ...]}

`parse(doc)` checks everything and returns a Scenario, or raises ScenarioError naming the
exact place that is wrong, so a typo never silently becomes a different ride. The same code
runs on MicroPython (the simulated board) and on CPython (`softcrank sim` checks the file
before it starts anything).
"""

FORMAT = 1
FAULT_KINDS = ("rail", "stuck", "stale", "jump", "noisy", "flat")
CRANK_KINDS = ("dead", "bounce")
FIRMWARE_FAULTS = ("exception", "hang")
SIDES = ("left", "right")

# key: (lowest, highest, default)
RIDER_KEYS = {
    "cadence_rpm": (-60, 150, 20),  # intended cadence; negative pedals backward
    "left_strength": (0, 1.5, 1.0),  # share of max_push_n each leg can give
    "right_strength": (0, 1.5, 0.6),
    "max_push_n": (10, 1500, 300),  # peak pedal push of a full-strength leg at full effort
    "left_fatigue_per_min": (0, 0.2, 0.005),  # strength lost per minute of pedalling
    "right_fatigue_per_min": (0, 0.2, 0.01),
    "foot_weight_n": (0, 200, 20),  # a resting foot's weight on the pedal
}
TOP_KEYS = ("format", "name", "description", "seed", "edges_per_rev", "rider", "events")
ACTIONS = ("cadence_rpm", "strength", "spasm", "fault", "estop", "crank", "firmware", "stall", "feet")


class ScenarioError(ValueError):
    pass


class Event:
    def __init__(self, at_s, action, value):
        self.at_s = at_s
        self.action = action  # one of ACTIONS
        self.value = value


class Scenario:
    def __init__(self, name, seed, edges_per_rev, rider, events):
        self.name = name
        self.seed = seed
        self.edges_per_rev = edges_per_rev
        self.rider = rider  # dict of RIDER_KEYS, defaults filled in
        self.events = events  # list of Event, in time order


def _number(where, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError("%s must be a number, not %r" % (where, value))
    if not lo <= value <= hi:
        raise ScenarioError("%s must be between %s and %s, not %s" % (where, lo, hi, value))
    return value


def _object(where, value, allowed):
    if not isinstance(value, dict):
        raise ScenarioError("%s must be an object" % where)
    for key in value:
        if key not in allowed:
            raise ScenarioError("%s has an unknown key %r (known: %s)" % (where, key, ", ".join(allowed)))
    return value


def _side(where, value):
    if value not in SIDES:
        raise ScenarioError("%s must be \"left\" or \"right\", not %r" % (where, value))
    return value


def _event(i, doc):
    where = "events[%d]" % i
    _object(where, doc, ("at_s",) + ACTIONS)
    if "at_s" not in doc:
        raise ScenarioError("%s needs \"at_s\", the time in seconds it happens" % where)
    at_s = _number(where + ".at_s", doc["at_s"], 0, 86400)
    actions = [a for a in ACTIONS if a in doc]
    if len(actions) != 1:
        raise ScenarioError("%s must have exactly one of %s" % (where, ", ".join(ACTIONS)))
    action = actions[0]
    value = doc[action]
    here = where + "." + action
    if action == "cadence_rpm":
        lo, hi, _ = RIDER_KEYS["cadence_rpm"]
        value = _number(here, value, lo, hi)
    elif action == "strength":
        _object(here, value, SIDES)
        if not value:
            raise ScenarioError("%s needs \"left\" and/or \"right\"" % here)
        for side in value:
            _number(here + "." + side, value[side], 0, 1.5)
    elif action == "spasm":
        _object(here, value, ("side", "force_n", "duration_s"))
        for key in ("side", "force_n", "duration_s"):
            if key not in value:
                raise ScenarioError("%s needs \"%s\"" % (here, key))
        _side(here + ".side", value["side"])
        _number(here + ".force_n", value["force_n"], -2500, 2500)  # below 0: a flexor spasm pulls the pedal up
        _number(here + ".duration_s", value["duration_s"], 0, 600)
    elif action == "fault":
        if value is not None:
            _object(here, value, ("side", "kind"))
            if "side" not in value or "kind" not in value:
                raise ScenarioError("%s needs \"side\" and \"kind\" (or null to clear)" % here)
            _side(here + ".side", value["side"])
            if value["kind"] not in FAULT_KINDS:
                raise ScenarioError("%s.kind must be one of %s" % (here, ", ".join(FAULT_KINDS)))
    elif action == "stall":  # a spasm stalls the crank, then drives it (backward: reverse_rpm < 0)
        _object(here, value, ("stall_s", "reverse_rpm", "duration_s"))
        for key in ("stall_s", "reverse_rpm", "duration_s"):
            if key not in value:
                raise ScenarioError("%s needs \"%s\"" % (here, key))
        _number(here + ".stall_s", value["stall_s"], 0, 10)
        _number(here + ".reverse_rpm", value["reverse_rpm"], -60, 60)
        _number(here + ".duration_s", value["duration_s"], 0, 60)
    elif action == "feet":  # the feet's resting weight on the pedals: 0 takes them off
        _object(here, value, ("weight_n",))
        if "weight_n" not in value:
            raise ScenarioError("%s needs \"weight_n\"" % here)
        _number(here + ".weight_n", value["weight_n"], 0, 200)
    elif action == "estop":
        if value is not True and value is not False:
            raise ScenarioError("%s must be true (pressed) or false (released)" % here)
    elif action == "crank":
        if value is not None:
            _object(here, value, ("kind",))
            if value.get("kind") not in CRANK_KINDS:
                raise ScenarioError("%s.kind must be one of %s (or null to clear)" % (here, ", ".join(CRANK_KINDS)))
    elif action == "firmware":
        if value not in FIRMWARE_FAULTS:
            raise ScenarioError("%s must be one of %s" % (here, ", ".join(FIRMWARE_FAULTS)))
    return Event(at_s, action, value)


def parse(doc):
    """A checked Scenario from a decoded JSON document."""
    _object("scenario", doc, TOP_KEYS)
    if doc.get("format") != FORMAT:
        raise ScenarioError("scenario: \"format\" must be %d" % FORMAT)
    name = doc.get("name", "unnamed")
    if not isinstance(name, str):
        raise ScenarioError("scenario: \"name\" must be text")
    seed = doc.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 1 << 31:
        raise ScenarioError("scenario: \"seed\" must be a whole number from 0")
    edges = doc.get("edges_per_rev", 24)
    if isinstance(edges, bool) or not isinstance(edges, int) or not 1 <= edges <= 360:
        raise ScenarioError("scenario: \"edges_per_rev\" must be a whole number 1..360")
    rider_doc = _object("rider", doc.get("rider", {}), tuple(RIDER_KEYS))
    rider = {}
    for key, (lo, hi, default) in RIDER_KEYS.items():
        rider[key] = _number("rider." + key, rider_doc[key], lo, hi) if key in rider_doc else default
    events_doc = doc.get("events", [])
    if not isinstance(events_doc, list):
        raise ScenarioError("scenario: \"events\" must be a list")
    events = [_event(i, e) for i, e in enumerate(events_doc)]
    events.sort(key=lambda e: e.at_s)
    return Scenario(name, seed, edges, rider, events)


def load(path):
    """Read and check a scenario file; ScenarioError says what is wrong and where."""
    import json

    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise ScenarioError("cannot read scenario %s: %s" % (path, e))
    except ValueError as e:
        raise ScenarioError("scenario %s is not valid JSON: %s" % (path, e))
    return parse(doc)
