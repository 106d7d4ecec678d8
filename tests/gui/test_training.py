"""Training from the app: validation in a labeler's words, a real tiny run in a child process with live progress,
cancel and resume, a killed trainer that leaves the app usable."""

from __future__ import annotations

import pytest

from core.data.shapes import ShapesConfig, write_shapes

FAST = ["--batch-size", "2", "--image-size", "32", "--eval-every", "1000", "--checkpoint-every", "1000"]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    write_shapes(root, ShapesConfig(size=64, train=24, val=6, test=6, colours=3, shapes=3, unseen_count=2))
    return root


@pytest.fixture
def dialog(qtbot, tmp_path):
    from gui.training import TrainingDialog

    d = TrainingDialog("", str(tmp_path / "runs"))
    qtbot.addWidget(d)
    d.show()
    yield d
    d.done(0)


def test_validation_speaks_before_anything_starts(dialog, shapes, tmp_path):
    dialog.data.setText(str(tmp_path / "nothing"))
    assert not dialog.start()
    assert "labelmap.txt" in dialog.problems.text() and dialog.process is None
    dialog.data.setText(str(shapes))
    dialog.unseen.setText("sea lion")
    assert not dialog.start()
    assert "'sea lion' is not one of the dataset's classes" in dialog.problems.text()


def test_run_progress_cancel_resume_and_use(qtbot, dialog, shapes):
    from training.messages import Finished, StepDone

    dialog.data.setText(str(shapes))
    dialog.steps.setValue(100_000)
    assert dialog.start(extra=FAST)
    qtbot.waitUntil(lambda: isinstance(dialog.last, StepDone) and dialog.last.step >= 3, timeout=60_000)
    assert dialog.bar.value() >= 3 and "loss" in dialog.status.text() and not dialog.form.isEnabled()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "stopped" and dialog.resume_button.isEnabled()
    stopped = dialog.last.step
    dialog.steps.setValue(stopped + 2)
    dialog.resume_button.click()
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "done" and dialog.last.step == stopped + 2
    assert len(dialog.losses[0]) >= 5
    with qtbot.waitSignal(dialog.model_chosen) as chosen:
        dialog.use_button.click()
    assert chosen.args == [dialog.out.text()]


def test_a_killed_trainer_shows_the_error_and_the_dialog_stays_usable(qtbot, dialog, shapes):
    from training.messages import Finished, StepDone

    dialog.data.setText(str(shapes))
    dialog.steps.setValue(100_000)
    dialog.start(extra=FAST)
    qtbot.waitUntil(lambda: isinstance(dialog.last, StepDone), timeout=60_000)
    dialog.process.kill()
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "failed" and "failed" in dialog.status.text()
    assert "exit code -9" in dialog.log.toPlainText()
    assert dialog.start_button.isEnabled() and dialog.form.isEnabled()


def test_done_images_of_the_project_become_training_data_for_a_fine_tune(qtbot, photos, tmp_path):
    import numpy as np

    from core.annotation import Project
    from core.io.image import read_image
    from gui.training import TrainingDialog
    from training.messages import Finished

    project = Project.open_folder(photos)
    for name in ("red circle", "yellow heart", "blue star"):
        project.add_class(name)
    for n, image_id in enumerate(["test_00000", "test_00001", "test_00002"]):
        labels = np.zeros(read_image(project.images[image_id]).shape[:2], np.uint8)
        labels[10:40, 10:40] = n + 1
        project.save_labels(image_id, labels, done=n < 2)  # the third stays a draft: not training data
    dialog = TrainingDialog("", str(tmp_path / "runs"), project=project)
    qtbot.addWidget(dialog)
    dialog.use_project()
    data = dialog.data.text()
    assert "2 done image(s)" in dialog.status.text()
    assert sorted((tmp_path / "runs").glob("data-*/SegmentationClass/*.png")) and data
    from pathlib import Path

    assert set((Path(data) / "ImageSets/Segmentation/train.txt").read_text().split()) == {"test_00000", "test_00001"}
    dialog.steps.setValue(3)
    assert dialog.start(extra=FAST)
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "done", dialog.log.toPlainText()
    first = dialog.out.text()
    # fine-tune that run again from the dialog (--init)
    dialog.init.setText(first)
    dialog.out.setText(str(tmp_path / "runs" / "again"))
    assert dialog.start(extra=FAST)
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "done" and "initialised" in dialog.log.toPlainText()
    dialog.done(0)
