"""Installing voxpost: a regular (non-editable) install ships the presets, the model registry and
the shipped denoise model, and works from any directory (``voxpost demo`` included); the editable
install finds the same files through the package-dir mapping.

Both install into a fresh virtual environment without pip or downloads: its ``.pth`` file puts
this environment's site-packages (the project's installed dependencies) after its own. A path in
a ``.pth`` file does not run the ``.pth`` files of that folder, so this environment's editable
voxpost stays out: what is imported is what was installed.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, voice_like

SETUPTOOLS_MIN = (77,)
#: What is not part of an install; the copy built from leaves it out.
_NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "demo-out",
               "*.verified", "tests", "benchmarks")


def _setuptools_or_skip() -> None:
    try:
        version = tuple(int(p) for p in importlib.metadata.version("setuptools").split(".")[:1])
    except importlib.metadata.PackageNotFoundError:
        version = (0,)
    if version < SETUPTOOLS_MIN:
        pytest.skip("building voxpost offline needs setuptools>=77 here (the [test] extra installs it)")


def _fresh_venv(path: Path) -> Path:
    """A venv without pip whose site-packages falls back on this environment's; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    py = path / "bin" / "python"
    own = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    Path(own, "_voxpost_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return py


def _pip_install(py: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                           "--no-build-isolation", "--no-index", *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _run(exe: Path | str, *args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert done.returncode == 0, f"{exe} {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of the source tree (no tests, no build leftovers) that installs can write into."""
    src = tmp_path_factory.mktemp("src") / "voxpost"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    return src


@pytest.fixture(scope="module")
def clean_env(tmp_path_factory) -> dict[str, str]:
    """The environment with no voxpost overrides and an empty user model cache."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VOXPOST_MODELS", "VOXPOST_PRESETS", "VOXPOST_REGISTRY", "PYTHONPATH")}
    env.update(XDG_CACHE_HOME=str(tmp_path_factory.mktemp("cache")), PYTHONWARNINGS="ignore")
    if "PYTHONPATH" in os.environ:     # keep what this run was given beyond the repository itself
        rest = [p for p in os.environ["PYTHONPATH"].split(os.pathsep) if p and Path(p).resolve() != REPO]
        if rest:
            env["PYTHONPATH"] = os.pathsep.join(rest)
    return env


def test_pyproject_lists_every_package():
    """Packages are listed by hand (the package-dir mapping needs it): none may be forgotten."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "voxpost").rglob("__init__.py")}
    mapped = {name: REPO / folder for name, folder in config["package-dir"].items()}
    assert set(config["packages"]) == on_disk | set(mapped)
    for name, folder in mapped.items():
        assert (folder / "__init__.py").is_file(), name


@pytest.fixture(scope="module")
def installed(source, tmp_path_factory) -> Path:
    """A fresh venv with voxpost installed from the source copy (not editable); its root."""
    _setuptools_or_skip()
    root = tmp_path_factory.mktemp("installed") / "fresh"
    _pip_install(_fresh_venv(root), str(source))
    return root


def test_regular_install_ships_presets_and_models(installed, tmp_path, clean_env):
    py, fresh = installed / "bin" / "python", installed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(py, "-c", "import voxpost, voxpost.presets as p; print(voxpost.__file__); print(p.preset_dirs()[-1])",
                 cwd=elsewhere, env=clean_env).split()
    assert all(Path(w).is_relative_to(fresh) for w in where), where
    voxpost = fresh / "bin" / "voxpost"
    listed = _run(voxpost, "presets", cwd=elsewhere, env=clean_env)
    assert {"dialogue-prep", "period-dialogue", "broadcast-r128"} <= {l.split()[0] for l in listed.splitlines() if l}
    doctor = _run(voxpost, "doctor", cwd=elsewhere, env=clean_env)
    shipped = next(l for l in doctor.splitlines() if "model: denoise-gru" in l)
    assert shipped.startswith("ok") and str(fresh) in shipped, shipped
    assert not [l for l in doctor.splitlines() if l.startswith("--") and "model registry" in l], doctor
    # period-dialogue's hybrid denoiser loads the shipped model through the shipped registry
    import soundfile as sf

    sf.write(elsewhere / "take.wav", (voice_like(2.0, 48000) + 0.003 * np.random.default_rng(0)
                                      .standard_normal(96000)).astype(np.float32), 48000, subtype="FLOAT")
    _run(voxpost, "clean", "take.wav", "-o", "out.wav", "--preset", "period-dialogue", "--report", "r.json",
         cwd=elsewhere, env=clean_env)
    out, sr = sf.read(elsewhere / "out.wav", dtype="float32")
    assert sr == 48000 and out.shape == (96000,) and np.isfinite(out).all() and np.abs(out).max() > 0.01
    model = _run(py, "-c", "from voxpost.models import Registry; print(Registry.load().path('denoise-gru'))",
                 cwd=elsewhere, env=clean_env).strip()
    assert Path(model).is_relative_to(fresh), model


def test_demo_runs_from_the_installed_package(installed, tmp_path, clean_env):
    """The main job, from a regular install in an empty directory (30 to 85 s here)."""
    summary = _run(installed / "bin" / "voxpost", "demo", "--quiet", "--out", "demo-out", cwd=tmp_path, env=clean_env)
    assert "period-dialogue" in summary and (tmp_path / "demo-out" / "report.md").is_file()


def test_editable_install_maps_the_top_level_folders(source, tmp_path, clean_env):
    _setuptools_or_skip()
    py = _fresh_venv(tmp_path / "editable")
    _pip_install(py, "-e", str(source))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import importlib.resources as r, voxpost, voxpost.presets as p;"
            "print(voxpost.__file__, r.files('voxpost._presets'), r.files('voxpost._models'), p.preset_dirs()[-1])")
    got = [Path(w) for w in _run(py, "-c", code, cwd=elsewhere, env=clean_env).split()]
    assert got == [source / "voxpost" / "__init__.py", source / "presets", source / "models", source / "presets"]
    listed = _run(tmp_path / "editable" / "bin" / "voxpost", "presets", cwd=elsewhere, env=clean_env)
    assert "dialogue-prep" in listed
