"""``zerolabel predict`` into existing folders, after a kill, with bad flags and unsafe model folders; one
preprocessing for eval, predict and the app."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from cli.main import main
from core.embeddings import build_encoder
from core.inference.export import export_onnx
from core.inference.runtime import ModelFolderError, OnnxModel, Predictor, demo_model_folder
from core.io.image import read_label_png, write_image
from core.models import ModelConfig, build_model, save_checkpoint

NAMES = ["red circle", "blue square", "green star"]


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory) -> tuple[Path, Path]:
    """A small RN checkpoint and its ONNX export."""
    tmp = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    model = build_model(ModelConfig("rn", "tiny", 50, image_size=64)).eval()
    model.seen_classes = NAMES[:2]
    ckpt = tmp / "best.pt"
    save_checkpoint(ckpt, model, embedding_source="glove50", split={"seen": NAMES[:2], "unseen": NAMES[2:]})
    export_onnx(ckpt, tmp / "onnx")
    return ckpt, tmp / "onnx"


def _images(folder: Path, count: int, size=(40, 50)) -> Path:
    rng = np.random.default_rng(0)
    for i in range(count):
        write_image(folder / f"im{i}.png", rng.integers(0, 255, (*size, 3), np.uint8))
    return folder


def _predict(model: Path, images: Path, out: Path, *extra: str, classes: str = "red circle,blue square") -> int:
    return main(["predict", str(model), str(images), "--classes", classes, "--out", str(out), "--device", "cpu",
                 *extra])


def test_rerun_with_other_classes_is_refused_and_keeps_the_labelmap(onnx_model, tmp_path: Path, capsys) -> None:
    images, out = _images(tmp_path / "images", 2), tmp_path / "out"
    assert _predict(onnx_model[1], images, out) == 0
    before = (out / "labelmap.txt").read_bytes()
    assert _predict(onnx_model[1], images, out, "--overwrite", classes="blue square,red circle") == 2
    assert "new --out" in capsys.readouterr().err
    assert (out / "labelmap.txt").read_bytes() == before


def test_resume_completes_coco_and_heatmaps_of_every_image(onnx_model, tmp_path: Path) -> None:
    images, out = _images(tmp_path / "images", 4), tmp_path / "out"
    first = tmp_path / "first"
    first.mkdir()
    for name in ("im0.png", "im1.png"):
        shutil.copy(images / name, first / name)
    assert _predict(onnx_model[1], first, out, "--format", "both", "--heatmaps") == 0  # a run cut short ...
    (out / "heatmaps" / "red_circle" / "im1.png").unlink()  # ... killed between the label map and a heatmap
    assert _predict(onnx_model[1], images, out, "--format", "both", "--heatmaps") == 0
    coco = json.loads((out / "coco.json").read_text())
    assert sorted(i["file_name"] for i in coco["images"]) == [f"JPEGImages/im{i}.png" for i in range(4)]
    assert {a["image_id"] for a in coco["annotations"]} <= {i["id"] for i in coco["images"]}
    for name in ("red_circle", "blue_square"):
        assert sorted(p.name for p in (out / "heatmaps" / name).iterdir()) == [f"im{i}.png" for i in range(4)]
    # the inputs are linked or copied as they are, never re-encoded
    assert (out / "JPEGImages" / "im3.png").read_bytes() == (images / "im3.png").read_bytes()


@pytest.mark.parametrize("flag", [["--calibration", "nan"], ["--calibration", "-1"], ["--calibration", "inf"],
                                  ["--min-area", "-5"], ["--workers", "0"], ["--threads", "-1"]])
def test_bad_numbers_are_clear_usage_errors(onnx_model, tmp_path: Path, capsys, flag: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _predict(onnx_model[1], _images(tmp_path / "images", 1), tmp_path / "out", *flag)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert flag[0] in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_is_one_clear_error(onnx_model, tmp_path: Path, capsys) -> None:
    target = tmp_path / "out"
    target.write_text("mine")
    assert _predict(onnx_model[1], _images(tmp_path / "images", 1), target) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "Traceback" not in err and target.read_text() == "mine"


def test_read_only_out_is_one_clear_error(onnx_model, tmp_path: Path, capsys) -> None:
    from tests.hardening.corpus import read_only  # mode 555, or chattr +i where the tests run as root

    images = _images(tmp_path / "images", 1)
    with read_only(tmp_path / "out") as target:
        assert _predict(onnx_model[1], images, target) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err


@pytest.mark.timeout(60)
@pytest.mark.parametrize("bad", ["absolute", "parent", "fifo"])
def test_model_files_outside_the_folder_or_not_regular_are_refused(onnx_model, tmp_path: Path, bad: str) -> None:
    folder = tmp_path / "model"
    shutil.copytree(onnx_model[1], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    if bad == "absolute":
        manifest["encoder"] = str((folder / "encoder.onnx").resolve())
    elif bad == "parent":
        shutil.copy(folder / "encoder.onnx", tmp_path / "outside.onnx")
        manifest["encoder"] = "../outside.onnx"
    else:
        os.mkfifo(folder / "pipe.onnx")
        manifest["scorer"] = "pipe.onnx"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFolderError, match="inside the model folder|regular file"):
        OnnxModel(folder, device="cpu")


def test_builtin_model_names_resolve(tmp_path: Path) -> None:
    from cli.predict import model_folder
    from core.errors import ZerolabelError

    assert model_folder("shapes").resolve() == demo_model_folder().resolve()
    try:
        assert (model_folder("photos") / "manifest.json").is_file()
    except ZerolabelError as exc:
        assert "photos" in str(exc)


def test_an_odd_sized_image_gets_the_same_labels_in_eval_predict_and_the_app(onnx_model, tmp_path: Path) -> None:
    """One preprocessing record: a 100x1000 image through eval's path, ``zerolabel predict`` and the Predictor."""
    from core.evaluate import class_probabilities
    from core.models import load_checkpoint

    ckpt, folder = onnx_model
    image = np.random.default_rng(5).integers(0, 255, (100, 1000, 3), np.uint8)
    image[:, 500:] //= 3
    write_image(tmp_path / "images" / "odd.png", image)
    model, _ = load_checkpoint(ckpt)
    matrix = torch.from_numpy(build_encoder("glove50").embed(NAMES))
    evaluated = class_probabilities(model, image, matrix).argmax(0)
    app = Predictor(folder, device="cpu").predict(image, NAMES)
    assert OnnxModel(folder, device="cpu").preprocess(image).shape[2:] == (26, 256)  # long side capped at 4x
    assert _predict(folder, tmp_path / "images", tmp_path / "out", classes=",".join(NAMES)) == 0
    predicted = read_label_png(tmp_path / "out" / "SegmentationClass" / "odd.png")
    assert np.array_equal(predicted, app.labels)
    assert (evaluated == app.labels).mean() > 0.999


def test_a_huge_image_is_labelled_in_bounded_memory() -> None:
    predictor = Predictor(demo_model_folder(), device="cpu")
    image = np.zeros((10000, 10000, 3), np.uint8)
    image[2000:6000, 3000:7000] = (200, 30, 30)
    pred = predictor.predict(image, ["red circle", "blue square"])
    assert pred.labels.shape == (10000, 10000)
    assert pred.heatmap(0, (0, 100, 0, 100)).shape == (100, 100)


def test_predict_into_a_project_another_live_process_holds_is_refused(onnx_model, tmp_path: Path, capsys) -> None:
    """The project lock covers `predict` too: a live holder (here a real child process) keeps it out."""
    import subprocess
    import sys

    images, out = _images(tmp_path / "images", 1), tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from core.annotation.store import acquire_lock; acquire_lock(sys.argv[1], 'the app'); "
        "print('held', flush=True); time.sleep(60)"), str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert _predict(onnx_model[1], images, out) == 2
        assert str(holder.pid) in capsys.readouterr().err
        assert not (out / "SegmentationClass").exists()
    finally:
        holder.kill()
        holder.wait()
    assert _predict(onnx_model[1], images, out) == 0  # a dead holder's lock is taken over
    assert not (out / ".zerolabel.lock").exists()




def test_predict_takes_a_run_folder_that_holds_only_last_pt(tmp_path: Path) -> None:
    """A run stopped before its first evaluation (last.pt only) is a model too: predict exports it into RUN/onnx
    (training.runs.RunFolder decides; its freshness rule is tested in tests/training/test_runs.py)."""
    from cli.predict import model_folder

    run = tmp_path / "run"
    model = build_model(ModelConfig("spnet", "tiny", 50, image_size=32)).eval()
    save_checkpoint(run / "last.pt", model, embedding_source="glove50", split={"seen": NAMES[:2], "unseen": NAMES[2:]})
    assert model_folder(str(run)) == run / "onnx"
    assert json.loads((run / "onnx" / "manifest.json").read_text())["checkpoint"] == "last.pt"
