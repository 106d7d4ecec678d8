"""``zerolabel predict --engine ray`` writes exactly what ``--engine local`` writes, on a local Ray instance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from core.inference.runtime import demo_model_folder, sample_images_folder

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.timeout(300)
def test_ray_engine_output_is_identical_to_the_local_engine(local_ray, tmp_path: Path, capsys) -> None:
    images = sample_images_folder() / "JPEGImages"
    classes = "red circle,blue square,green triangle"
    outs = {}
    for engine in ("local", "ray"):
        outs[engine] = tmp_path / engine
        argv = ["predict", str(demo_model_folder()), str(images), "--classes", classes, "--out",
                str(outs[engine]), "--format", "both", "--heatmaps", "--device", "cpu", "--engine", engine,
                "--workers", "2", "--threads", "1"]
        assert main(argv) == 0
    local, remote = _files(outs["local"]), _files(outs["ray"])
    assert local.keys() == remote.keys() and len([k for k in local if k.startswith("SegmentationClass")]) >= 3
    assert all(local[k] == remote[k] for k in local), [k for k in local if local[k] != remote[k]]
    # resume rules are the same: everything is done, nothing is redone
    argv[argv.index("--out") + 1] = str(outs["ray"])
    capsys.readouterr()
    assert main(argv) == 0 and " 0 to do" in capsys.readouterr().err
    assert np.array_equal(sorted(_files(outs["ray"])), sorted(remote))
