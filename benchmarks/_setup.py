"""Shared benchmark preamble; import it before NumPy.

One thread for every numerical library (set before they load, so runs are comparable on a shared
machine), the repository and ``benchmarks/`` on ``sys.path``, and the corpus location
(``$VOXPOST_CORPUS``, else ``../shared/corpus``).
"""

import os
import sys
from pathlib import Path

# Only when the numerical libraries have not loaded yet (a benchmark run as a script). A test that
# imports a benchmark's functions must not change them under a running Numba: its thread pool is
# fixed once launched, and a later config reload with another NUMBA_NUM_THREADS raises.
if not {"numpy", "numba", "torch"} & set(sys.modules):
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT / "benchmarks"), str(ROOT)):
    if _p not in sys.path:
        sys.path.insert(0, _p)
CORPUS = Path(os.environ.get("VOXPOST_CORPUS", ROOT.parent / "shared" / "corpus"))
