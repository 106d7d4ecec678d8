"""The wizard's photo self-training: a project's classes (stroke-taught ones included) as defaults, checks in a
labeler's words, a real tiny self-training run in a child process, its model offered as the app's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from wizard_helpers import settle, start, tiny

from core.io.image import read_image, write_image
from core.photo import sample_photos_folder
from gui.training_pages import TASKS

#: A tiny, fast run: the tiny backbone (no ImageNet weights to read), 32-px crops, batches of two.
TINY = ["--backbone", "tiny", "--image-size", "32", "--batch-size", "2"]


def _small(name: str, side: int = 160) -> np.ndarray:
    image = read_image(sample_photos_folder() / f"{name}.jpg")
    h, w = image.shape[:2]
    scale = side / max(h, w)
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def my_photos(tmp_path_factory) -> Path:
    """Three small real photos (a cat, a cup on a table, a person) in a plain folder."""
    root = tmp_path_factory.mktemp("my_photos")
    for name in ("chelsea", "coffee", "astronaut"):
        write_image(root / f"{name}.jpg", _small(name, 96))
    return root


@pytest.fixture(scope="module")
def strokes(tmp_path_factory) -> Path:
    """A stroke head that learnt "table" from two strokes on the coffee photo (as the app saves it)."""
    from core.inference.runtime import Predictor
    from core.photo import photo_model_folder, stroke_features
    from core.photo.strokes import StrokeHead

    image = _small("coffee")  # 160 x 107: wooden table top right, cup and saucer in the middle
    table, other = np.zeros(image.shape[:2], np.uint8), np.zeros(image.shape[:2], np.uint8)
    cv2.line(table, (125, 5), (155, 25), 1, 5)
    cv2.line(other, (60, 40), (100, 40), 1, 5)
    predictor = Predictor(photo_model_folder(), device="cpu", threads=1)
    head = StrokeHead("photo-model").add(stroke_features(predictor, image), {"table": table.astype(bool)},
                                         negatives=other.astype(bool)).fit()
    path = tmp_path_factory.mktemp("strokes") / "strokes.npz"
    head.save(path)
    return path


@pytest.fixture
def dialog(qtbot, tmp_path, strokes):
    from core.annotation.project import Project
    from gui.teach import head_path
    from gui.training import TrainingDialog

    (tmp_path / "project").mkdir()
    write_image(tmp_path / "project" / "coffee.jpg", _small("coffee"))
    project = Project.open_folder(tmp_path / "project")
    for name in ("cat", "cup", "sky"):
        project.add_class(name)
    head_path(project.root).write_bytes(strokes.read_bytes())
    d = tiny(TrainingDialog("", str(tmp_path / "runs"), project=project))
    qtbot.addWidget(d)
    d.show()
    d.task.setCurrentIndex([key for _, key in TASKS].index("photos"))
    settle(qtbot, d)  # the photo model's classes are read in a worker
    d.next_button.click()
    yield d
    d.done(0)


def test_defaults_and_checks_in_a_labelers_words(qtbot, dialog, tmp_path):
    assert dialog.pages.currentIndex() == 1
    assert dialog.photos_box.isVisible() and not dialog.labeled_box.isVisible() and not dialog.self_box.isVisible()
    assert dialog.task_help.text().startswith("Improve on a folder of my photos")
    assert dialog.steps.specialValueText().startswith("300") and dialog.steps.value() == 0  # no --steps: 300
    # the project's names the photo model supports, then the stroke-taught class; "sky" has neither
    assert dialog.photo_classes.text() == "cat, cup, table"
    assert "table" in dialog.photo_note.text() and "sky" in dialog.photo_note.text()
    for folder, words in (("", "Choose the folder of your photos (Browse…)"),
                          (str(tmp_path / "nowhere"), "nowhere: no such folder")):
        dialog.photo_folder.setText(folder)
        dialog.next_button.click()
        settle(qtbot, dialog)
        assert words in dialog.problems.text() and dialog.pages.currentIndex() == 1
    (tmp_path / "empty").mkdir()
    dialog.photo_folder.setText(str(tmp_path / "empty"))
    dialog.photo_classes.setText(" , ")
    dialog.next_button.click()
    settle(qtbot, dialog)
    problems = dialog.problems.text()
    assert "empty: no photos" in problems and "Type at least one class name" in problems
    dialog.photo_folder.setText(str(tmp_path / "project"))
    dialog.photo_classes.setText("cat, sky")
    assert not start(qtbot, dialog)
    assert "'sky'" in dialog.problems.text() and "strokes" in dialog.problems.text()
    assert dialog.process is None and dialog.pages.currentIndex() == 1


def test_a_real_tiny_self_training_becomes_the_apps_model(qtbot, dialog, my_photos):
    from training.messages import Finished

    dialog.photo_folder.setText(str(my_photos))
    dialog.photo_top_p.setValue(40)
    dialog.next_button.click()
    settle(qtbot, dialog)
    assert dialog.pages.currentIndex() == 2 and not dialog.problems.text()
    dialog.steps.setValue(2)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    args = dialog.train_args()
    assert args[:3] == [str(my_photos), "--classes", "cat,cup,table"] and "--export-onnx" in args
    assert args[args.index("--strokes") + 1].endswith("strokes.npz") and args[args.index("--top-p") + 1] == "40.0"
    assert start(qtbot, dialog, extra=TINY)
    assert dialog.command == "selftrain-photos" in dialog.process.args and dialog.pages.currentIndex() == 3
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "done", dialog.log.toPlainText()
    run = Path(dialog.out.text())
    assert (run / "onnx" / "manifest.json").is_file() and dialog.bar.value() == 2
    log = dialog.log.toPlainText()
    assert "pseudo-labelled pixels on 3 photos" in log and "table" in log
    assert dialog.use_button.isEnabled() and dialog.settings_enabled()
    with qtbot.waitSignal(dialog.model_chosen) as chosen:
        dialog.use_button.click()
    assert chosen.args == [str(run / "onnx")]
