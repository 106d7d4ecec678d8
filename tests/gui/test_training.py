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
