"""The host package keeps its shape (docs/architecture.md): small modules, no import circles,
and arrows that point one way, down the layers.

Read from the source with ast, so it sees every import (inside functions too: a circle closed
by a lazy import is still a circle, which is how deploy -> therapist -> link -> deploy hid).
"""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "host" / "softcrank"
MAX_LINES = 500
NOT_PYTHON_OF_OURS = {"softcrank.boardfiles.main"}  # firmware/main.py, carried for the boards

# Top to bottom. A module may import from its own subpackage and from any layer below its own,
# never from its own layer's other subpackages nor from above.
LAYERS = (
    ("__main__",),                  # python -m softcrank
    ("cli",),                       # the command line
    ("app", "verify"),              # the clinic's app; the builder's tools (the clinic never needs them)
    ("exports", "sim", "chipsim", "deploy"),  # files for other programs; the virtual trainer; the emulated RP2040; firmware onto a board
    ("trainer", "clinical"),        # the link, the recorder, the session; the figures and words a person reads
    ("store", "boardfiles"),        # the ride log; the files a board is built from
    ("", "frames"),                 # the package's face (its version) and the wire format's host side
)


def modules() -> dict[str, pathlib.Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("softcrank",) + path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if name not in NOT_PYTHON_OF_OURS:
            found[name] = path
    return found


def imports(name: str, path: pathlib.Path, known: set[str]) -> set[str]:
    """The softcrank modules `name` imports, anywhere in its text."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [source + "." + alias.name if source + "." + alias.name in known else source
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import softcrank.x.y` names x.y's module
                target = target.rpartition(".")[0]
            if target.startswith("softcrank") and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def place(name: str) -> tuple[int, str]:
    """(layer, subpackage) of a module: layer 0 is the top."""
    sub = name.split(".")[1] if "." in name else ""
    for level, subs in enumerate(LAYERS):
        if sub in subs:
            return level, sub
    raise AssertionError("%s is in no layer: add its subpackage to LAYERS (and to docs/architecture.md)" % name)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_module_is_over_500_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, "split these (one job a module): %s" % long


def test_no_import_circles():
    assert cycles(graph()) == []


def test_every_arrow_points_down_the_layers():
    wrong = []
    for name, targets in graph().items():
        level, sub = place(name)
        for target in targets:
            t_level, t_sub = place(target)
            if t_sub != sub and t_level <= level:
                wrong.append("%s -> %s" % (name, target))
    assert not wrong, "arrows up or sideways: %s" % wrong


def test_the_app_never_imports_the_command_line_and_the_clinic_never_the_builders_tools():
    edges = graph()
    clinic = ("app", "trainer", "clinical", "store", "exports", "sim", "deploy")
    for name, targets in edges.items():
        if place(name)[1] in clinic:
            assert not {t for t in targets if place(t)[1] in ("cli", "verify")}, name


def test_the_checks_see_a_circle_and_an_upward_arrow():
    """The checks themselves: a made-up circle is found, and so is an arrow up the layers."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    edges = graph()
    assert "softcrank.store.ridelog" in edges["softcrank.clinical.summary"]  # the walk sees real arrows
    assert place("softcrank.store.ridelog")[0] > place("softcrank.app.app")[0]
