"""The shape of the house, checked by walking the imports of every module (lazy ones included).

- No import circle between modules, and none between the capability packages.
- Nothing outside ``voxpost.cli`` imports the command line; the demo calls jobs.
- ``voxpost.dsp`` holds kernels only: it imports nothing of voxpost but itself and the errors.
- One concept per module: no module over :data:`MAX_LINES` lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "voxpost"
#: A module that passes this is usually two concepts.
MAX_LINES = 400
#: Subpackages that are capabilities (or the ground under them); their graph must be acyclic.
CAPABILITIES = ("espeak", "dsp", "clean", "speech", "voice", "dub", "foley", "separate", "sync", "batch", "review")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """The voxpost modules ``name`` imports, anywhere in its body."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_pkg else 0)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:
                t = t.rpartition(".")[0]
            if t and t.startswith("voxpost") and t != name:
                out.add(t)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        state[n] = 2
        stack.pop()
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def _capability(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in CAPABILITIES else None


def test_the_walk_sees_the_whole_package():
    assert {"voxpost.cli", "voxpost.stage", "voxpost.outputs", "voxpost.espeak.binding"} <= set(MODULES)
    assert "voxpost.espeak.binding" in GRAPH["voxpost.espeak"]
    assert "voxpost.clean.jobs" in GRAPH["voxpost.cli.files"]          # a lazy import is seen


def test_no_import_circle_between_modules():
    assert _cycle(GRAPH) is None, " -> ".join(_cycle(GRAPH))


def test_no_import_circle_between_capabilities():
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        if (src := _capability(module)) is not None:
            packages.setdefault(src, set()).update(t for t in map(_capability, targets) if t and t != src)
    assert _cycle(packages) is None, " -> ".join(_cycle(packages))


def test_nothing_outside_cli_imports_it():
    offenders = sorted(m for m, targets in GRAPH.items() if not m.startswith(("voxpost.cli", "voxpost.__main__"))
                       and any(t == "voxpost.cli" or t.startswith("voxpost.cli.") for t in targets))
    assert offenders == []


def test_dsp_imports_only_dsp_and_errors():
    for module, targets in GRAPH.items():
        if module.startswith("voxpost.dsp"):
            assert all(t.startswith("voxpost.dsp") or t == "voxpost.errors" for t in targets), (module, targets)
@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_one_concept(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by concept"
