"""Every docstring example in voxpost runs and prints what it shows (julius' test_doc).

Each module under voxpost is imported by walking the package; a module whose optional
dependency is not installed is skipped, naming it. Examples run in a fresh temporary directory,
so one that writes ``take.wav`` leaves nothing behind.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import voxpost

#: ``__main__`` runs the command line when imported
MODULES = sorted(m.name for m in pkgutil.walk_packages(voxpost.__path__, "voxpost.") if not m.name.endswith("__main__"))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] != "voxpost":
            pytest.skip(f"{name} needs {e.name}, which is not installed")
        raise


def test_every_module_is_walked():
    assert {"voxpost.audio", "voxpost.clean.meter", "voxpost.foley.prompt"} <= set(MODULES)


def test_no_example_is_skipped():
    """An example that does not run is not an example: no ``+SKIP`` directive anywhere."""
    root = Path(voxpost.__file__).parent
    assert not [str(p.relative_to(root)) for p in root.rglob("*.py") if "doctest: +" "SKIP" in p.read_text()]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    module = _import(name)
    monkeypatch.chdir(tmp_path)
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (output above)"
