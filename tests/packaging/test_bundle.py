"""The desktop bundle: built with the script ``make package`` runs (when missing or older than the sources),
then the frozen executable prints its version, runs ``--smoke`` offscreen (and on xcb when ``xvfb-run`` is
there), writes valid label maps, and carries no torch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import __version__

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "zerolabel"
EXE = BUNDLE / "zerolabel-gui"
SOURCES = ("core", "gui", "resources", "packaging", "pyproject.toml")
CLASSES = "red triangle,blue circle"
XCB_LIBS = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1")  # what Qt's xcb plugin needs

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux bundle")]


def newest_source() -> float:
    newest = 0.0
    for name in SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file()
                                                and "__pycache__" not in p.parts)
        newest = max([newest, *(p.stat().st_mtime for p in files)])
    return newest


@pytest.fixture(scope="module")
def bundle() -> Path:
    if shutil.which("bash") is None:
        pytest.skip("packaging/build.sh needs bash")
    if not EXE.is_file() or EXE.stat().st_mtime < newest_source():
        out = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh"), sys.executable], cwd=ROOT,
                             capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, f"packaging/build.sh failed:\n{out.stdout[-3000:]}\n{out.stderr[-6000:]}"
    assert EXE.is_file() and os.access(EXE, os.X_OK)
    return BUNDLE


def env(tmp_path: Path, platform: str = "offscreen") -> dict[str, str]:
    """A bare environment: no venv on PATH, no PYTHONPATH, fresh home / settings / data folders."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": platform,
            "ZEROLABEL_HOME": str(tmp_path / "zl-home"), "ZEROLABEL_SETTINGS": str(tmp_path / "settings.ini"),
            "ZEROLABEL_DATA": str(tmp_path / "data")}


def check_label_maps(out: Path, stdout: str) -> None:
    lines = (out / "labelmap.txt").read_text().splitlines()
    assert [line.split(":")[0] for line in lines[1:]] == ["background", *CLASSES.split(",")]
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 3, stdout
    found = set()
    for png in pngs:
        assert f"wrote {png}" in stdout
        with Image.open(png) as image:
            assert image.mode == "P" and image.size[0] > 0
            labels = np.asarray(image)
        assert labels.dtype == np.uint8 and set(np.unique(labels)) <= {0, 1, 2}
        found |= set(np.unique(labels).tolist())
    assert {1, 2} <= found  # both classes are predicted somewhere in the samples


def test_version(bundle, tmp_path):
    out = subprocess.run([str(EXE), "--version"], capture_output=True, text=True, env=env(tmp_path), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"zerolabel {__version__}"


def test_smoke_offscreen_exports_label_maps(bundle, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([str(EXE), "--smoke", str(out), "--classes", CLASSES], capture_output=True, text=True,
                         env=env(tmp_path), timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "smoke ok" in run.stdout and "torch imported: False" in run.stdout
    check_label_maps(out, run.stdout)


def test_smoke_failure_is_reported(bundle, tmp_path):
    run = subprocess.run([str(EXE), "--smoke", str(tmp_path / "out"), "--model", str(tmp_path / "nope")],
                         capture_output=True, text=True, env=env(tmp_path), timeout=180)
    assert run.returncode == 1
    assert "--smoke failed" in run.stderr and "manifest.json" in run.stderr


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (apt-get install xvfb)")
def test_smoke_on_xcb(bundle, tmp_path):
    missing = [n for n in XCB_LIBS if not (bundle / "_internal" / n).exists()]
    if missing:
        pytest.skip(f"the build machine lacks {', '.join(missing)} (docs/packaging.md, xcb); so does the bundle")
    out = tmp_path / "out"
    run = subprocess.run(["xvfb-run", "-a", str(EXE), "--smoke", str(out), "--classes", CLASSES],
                         capture_output=True, text=True, env=env(tmp_path, "xcb"), timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    check_label_maps(out, run.stdout)


def test_no_torch_in_the_bundle(bundle):
    internal = bundle / "_internal"
    assert (internal / "resources" / "demo_model" / "manifest.json").is_file()
    assert (internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqoffscreen.so").is_file()
    assert (internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so").is_file()
    torch = [p for p in bundle.rglob("*") if p.name.lower() in {"torch", "torchvision", "functorch"}
             or p.name.startswith(("libtorch", "libc10", "libcudnn"))]
    assert torch == []
