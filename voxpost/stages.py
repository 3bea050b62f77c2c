"""The one list of stage modules: import this to have every stage of the engine registered.

A stage class registers itself under its preset type name (``@register`` in :mod:`voxpost.stage`)
when its module is imported. :mod:`voxpost.stage` knows no capability, so this module is where
the capabilities' stage modules are listed, once. Presets, the contract test and anything else
that needs the full set import it; a new stage module is added to :data:`MODULES` and is then
usable from a TOML preset and covered by ``tests/test_stage_contract.py``.

Examples
--------
>>> from voxpost.stages import registry
>>> registry()["highpass"].__name__
'HighPass'
"""

from __future__ import annotations

from voxpost.clean import declick, declip, dehum, denoise, filters, gain, loudness
from voxpost.stage import STAGES, Stage
from voxpost.voice import convert

#: Every module that defines registered stages.
MODULES = (gain, filters, dehum, declip, declick, denoise, loudness, convert)


def registry() -> dict[str, type[Stage]]:
    """Every stage of the engine by preset type name, sorted by name.

    Only classes defined in :data:`MODULES` are listed: a stage registered elsewhere (a test's,
    a user's experiment) does not become an engine stage.
    """
    names = {m.__name__ for m in MODULES}
    return {kind: cls for kind, cls in sorted(STAGES.items()) if cls.__module__ in names}
