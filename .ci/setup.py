#!/usr/bin/env python3
"""Create or update the project's environment in .venv/ (stdlib only; runs on a bare Python >= 3.11).

Installs the package in editable mode with its test extras. A stamp of pyproject.toml's hash
makes a second run take a second: pip runs only when the dependencies changed or the
environment is missing or broken.
"""

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".voxpost-installed"


def main() -> int:
    if sys.version_info < (3, 11):
        print(f"voxpost needs Python >= 3.11, this is {sys.version.split()[0]}", file=sys.stderr)
        return 2
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + sys.version.encode()).hexdigest()
    healthy = PY.exists() and subprocess.run([PY, "-c", "import voxpost, torch, numba, soundfile"],
                                             capture_output=True).returncode == 0
    if healthy and STAMP.exists() and STAMP.read_text().strip() == want:
        return 0
    if not PY.exists():
        print("voxpost: creating .venv/", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("voxpost: installing dependencies into .venv/ (torch is a few GB the first time)", file=sys.stderr)
    for args in (["--upgrade", "pip"], ["-e", f"{ROOT}[test]"]):
        done = subprocess.run([PY, "-m", "pip", "install", "-q", *args], capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-4000:] + done.stderr[-4000:], file=sys.stderr)
            print(f"voxpost: pip install {' '.join(args)} failed (exit {done.returncode})", file=sys.stderr)
            return 1
    STAMP.write_text(want + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
