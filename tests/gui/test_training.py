"""Training from the app: validation in a labeler's words, a real tiny run in a child process with live progress,
cancel and resume, a killed trainer that leaves the app usable."""

from __future__ import annotations

from pathlib import Path

import pytest
from wizard_helpers import settle, start, tiny

from core.data.shapes import ShapesConfig, write_shapes
from gui.training_pages import TASKS

FAST = ["--batch-size", "2", "--image-size", "32", "--eval-every", "1000", "--checkpoint-every", "1000"]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    write_shapes(root, ShapesConfig(size=64, train=24, val=6, test=6, colours=3, shapes=3, unseen_count=2))
    return root


@pytest.fixture
def dialog(qtbot, tmp_path):
    from gui.training import TrainingDialog

    d = tiny(TrainingDialog("", str(tmp_path / "runs")))
    qtbot.addWidget(d)
    d.show()
    yield d
    d.done(0)


def test_validation_speaks_before_anything_starts(qtbot, dialog, shapes, tmp_path):
    dialog.data.setText(str(tmp_path / "nothing"))
    assert not start(qtbot, dialog)
    assert "nothing: no such folder" in dialog.problems.text() and dialog.process is None
    (tmp_path / "empty").mkdir()
    dialog.data.setText(str(tmp_path / "empty"))
    assert not start(qtbot, dialog)
    assert "no labelmap.txt" in dialog.problems.text() and dialog.pages.currentIndex() == 1
    dialog.data.setText(str(shapes))
    dialog.unseen.setText("sea lion")
    assert not start(qtbot, dialog)
    assert "'sea lion'" in dialog.problems.text() and "is not" in dialog.problems.text()


def test_run_progress_cancel_resume_and_use(qtbot, dialog, shapes):
    from training.messages import Finished, StepDone

    dialog.data.setText(str(shapes))
    dialog.steps.setValue(100_000)
    assert start(qtbot, dialog, extra=FAST)
    qtbot.waitUntil(lambda: isinstance(dialog.last, StepDone) and dialog.last.step >= 3, timeout=60_000)
    assert dialog.bar.value() >= 3 and "loss" in dialog.status.text() and not dialog.settings_enabled()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "stopped" and dialog.resume_button.isEnabled()
    stopped = dialog.last.step
    dialog.steps.setValue(stopped + 2)
    dialog.resume_button.click()
    settle(qtbot, dialog)  # the pages are checked again in a worker, then the trainer resumes
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "done" and dialog.last.step == stopped + 2
    assert len(dialog.losses[0]) >= 5
    # exported by the trainer process before it said "done": the app loads it without importing torch
    manifest = Path(dialog.out.text()) / "onnx" / "manifest.json"
    assert manifest.is_file() and manifest.stat().st_mtime >= (Path(dialog.out.text()) / "best.pt").stat().st_mtime
    assert "model exported to" in dialog.log.toPlainText()
    with qtbot.waitSignal(dialog.model_chosen) as chosen:
        dialog.use_button.click()
    assert chosen.args == [dialog.out.text()]


def test_a_killed_trainer_shows_the_error_and_the_dialog_stays_usable(qtbot, dialog, shapes):
    from training.messages import Finished, StepDone

    dialog.data.setText(str(shapes))
    dialog.steps.setValue(100_000)
    assert start(qtbot, dialog, extra=FAST)
    qtbot.waitUntil(lambda: isinstance(dialog.last, StepDone), timeout=60_000)
    dialog.process.kill()
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "failed" and "failed" in dialog.status.text()
    assert "exit code -9" in dialog.log.toPlainText()
    assert dialog.back_button.isEnabled() and dialog.settings_enabled()
    killed = dialog.out.text()
    dialog.back_button.click()  # back to the settings: a new run goes to a new folder
    assert dialog.pages.currentIndex() == 2 and dialog.start_button.isEnabled() and dialog.out.text() != killed


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
    dialog = tiny(TrainingDialog("", str(tmp_path / "runs"), project=project))
    qtbot.addWidget(dialog)
    dialog.use_project()  # written in a worker thread
    settle(qtbot, dialog)
    data = dialog.data.text()
    assert "2 done image(s)" in dialog.data_note.text()
    assert sorted((tmp_path / "runs").glob("data-*/SegmentationClass/*.png")) and data
    assert set((Path(data) / "ImageSets/Segmentation/train.txt").read_text().split()) == {"test_00000", "test_00001"}
    dialog.steps.setValue(3)
    assert start(qtbot, dialog, extra=FAST)
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "done", dialog.log.toPlainText()
    first = dialog.out.text()
    # the "Fine-tune an existing run" task: the method comes from the run, only the layers above the backbone
    dialog.task.setCurrentIndex([key for _, key in TASKS].index("finetune"))
    assert not start(qtbot, dialog) and "Choose the run to start from" in dialog.problems.text()
    dialog.init.setText(first)
    dialog.freeze.setChecked(True)
    assert not start(qtbot, dialog) and "already holds a run" in dialog.problems.text()
    dialog.out.setText(str(tmp_path / "runs" / "again"))
    assert start(qtbot, dialog, extra=FAST)
    assert {"--init", "--freeze-backbone"} <= set(dialog.process.args)
    assert dialog.process.args[dialog.process.args.index("--method") + 1] == "rn"
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "done" and "initialised" in dialog.log.toPlainText()
    dialog.done(0)


def test_the_wizard_checks_each_page_and_pause_holds_the_trainer(qtbot, dialog, shapes):
    from core.inference.runtime import has_nvidia_gpu
    from training.messages import Finished, StepDone

    assert dialog.heading.text() == "1. What to do"
    dialog.next_button.click()
    assert dialog.pages.currentIndex() == 1
    dialog.next_button.click()  # no data yet: the page says so and stays
    settle(qtbot, dialog)
    assert dialog.pages.currentIndex() == 1 and "Choose the labeled data" in dialog.problems.text()
    dialog.data.setText(str(shapes))
    # the seen / unseen summary appears while the page is filled, before Next
    qtbot.waitUntil(lambda: "unseen (" in dialog.data_summary.text(), timeout=5_000)
    assert "24 training images" in dialog.data_summary.text() and dialog.pages.currentIndex() == 1
    dialog.next_button.click()
    settle(qtbot, dialog)
    assert dialog.pages.currentIndex() == 2 and dialog.problems.text() == ""
    assert "unseen (" in dialog.data_summary.text() and "24 training images" in dialog.data_summary.text()
    dialog.device.setCurrentIndex(dialog.device.findData("cuda"))
    dialog.start_button.click()
    settle(qtbot, dialog)
    assert ("No NVIDIA GPU" in dialog.problems.text()) == (not has_nvidia_gpu())
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.steps.setValue(100_000)
    dialog.start_button.click()
    settle(qtbot, dialog)
    assert dialog.pages.currentIndex() == 3 and "--device" in dialog.process.args
    qtbot.waitUntil(lambda: isinstance(dialog.last, StepDone) and dialog.last.step >= 2, timeout=60_000)
    dialog.pause_button.click()
    assert dialog.pause_button.text() == "Continue" and "(paused)" in dialog.status.text()
    qtbot.wait(700)  # a message already on its way may still arrive
    held = dialog.last.step
    qtbot.wait(1500)
    assert dialog.last.step == held  # the trainer is suspended: no step is made
    assert "(paused)" in dialog.status.text()  # still said after the messages that were on their way
    dialog.pause_button.click()
    qtbot.waitUntil(lambda: isinstance(dialog.last, StepDone) and dialog.last.step > held, timeout=60_000)
    assert "(paused)" not in dialog.status.text()
    dialog.reject()  # Escape / the close button: the dialog hides, the run goes on
    assert not dialog.isVisible() and dialog.running
    going = dialog.last.step
    qtbot.waitUntil(lambda: dialog.last.step > going + 2, timeout=60_000)
    dialog.show()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "stopped"


def test_runs_survive_the_dialog_one_cancelled_one_killed_and_the_killed_one_resumes(qtbot, shapes, tmp_path):
    from gui.training import TrainingDialog
    from training.messages import Finished, StepDone

    runs = tmp_path / "runs"
    first = tiny(TrainingDialog("", str(runs)))
    qtbot.addWidget(first)
    first.data.setText(str(shapes))
    first.steps.setValue(100_000)
    first.out.setText(str(runs / "cancelled"))
    assert start(qtbot, first, extra=[*FAST[:-1], "2"])  # a checkpoint every 2 steps
    qtbot.waitUntil(lambda: isinstance(first.last, StepDone) and first.last.step >= 3, timeout=60_000)
    first.cancel_button.click()
    qtbot.waitUntil(lambda: isinstance(first.last, Finished), timeout=60_000)
    first.out.setText(str(runs / "killed"))
    assert start(qtbot, first, extra=[*FAST[:-1], "2"])
    qtbot.waitUntil(lambda: (runs / "killed" / "last.pt").is_file() and first.last.step >= 5, timeout=60_000)
    first.process.kill()  # as if the app (or the machine) went down mid-run
    qtbot.waitUntil(lambda: isinstance(first.last, Finished), timeout=60_000)
    first.done(0)

    again = TrainingDialog("", str(runs))  # the app opened again later
    qtbot.addWidget(again)
    listed = {again.runs.item(i).data(256).name: again.runs.item(i).data(256) for i in range(again.runs.count())}
    assert listed["cancelled"].status == "stopped" and listed["killed"].status == "interrupted"
    assert listed["killed"].resumable and listed["cancelled"].resumable and not listed["killed"].usable
    assert "interrupted" in listed["killed"].describe()
    row = [again.runs.item(i).data(256).name for i in range(again.runs.count())].index("killed")
    again.runs.setCurrentRow(row)
    assert again.resume_listed.isEnabled() and not again.use_listed.isEnabled()
    checkpoint = listed["killed"].step
    again.steps.setValue(checkpoint + 2)
    assert listed["killed"].losses and listed["killed"].losses[0][0] == 1  # the curve up to the last checkpoint
    with qtbot.waitSignal(again.reader.message, timeout=60_000):
        again.resume_listed.click()
    assert again.losses[0][: len(listed["killed"].losses)] == [s for s, _ in listed["killed"].losses]  # plot seeded
    qtbot.waitUntil(lambda: isinstance(again.last, Finished), timeout=60_000)
    assert again.last.status == "done" and again.last.step == checkpoint + 2
    assert again.losses[0][-1] == checkpoint + 2 and len(again.losses[0]) > len(listed["killed"].losses)
    listed = {again.runs.item(i).data(256).name: again.runs.item(i).data(256) for i in range(again.runs.count())}
    assert listed["killed"].usable and listed["cancelled"].resumable  # the other run is still there to resume
    again.done(0)


def test_self_training_zs5net_from_the_wizard(qtbot, dialog, shapes, tmp_path):
    import shutil

    from cli.main import main
    from training.messages import Finished

    base = tmp_path / "zs3"
    assert main(["train", "--method", "zs3net", "--backbone", "tiny",
                 "--data", str(shapes), "--out", str(base), "--steps", "4",
                 "--gmmn-steps", "5", *FAST]) == 0
    unlabeled = tmp_path / "unlabeled images"
    unlabeled.mkdir()
    for path in sorted((shapes / "JPEGImages").glob("test_*"))[:4]:
        shutil.copy(path, unlabeled / path.name)
    dialog.task.setCurrentIndex([key for _, key in TASKS].index("selftrain"))
    assert not dialog.self_box.isHidden() and dialog.labeled_box.isHidden()
    dialog.base_run.setText(str(shapes))
    dialog.unlabeled.setText(str(tmp_path / "missing"))
    assert not start(qtbot, dialog)
    assert "no best.pt" in dialog.problems.text() and "choose a folder of unlabeled images" in dialog.problems.text()
    dialog.base_run.setText(str(base))
    dialog.unlabeled.setText(str(unlabeled))
    dialog.steps.setValue(3)
    assert start(qtbot, dialog)
    assert dialog.process.args[dialog.process.args.index("selftrain") + 1] == str(base)
    qtbot.waitUntil(lambda: isinstance(dialog.last, Finished), timeout=60_000)
    assert dialog.last.status == "done", dialog.log.toPlainText()
    assert "pseudo-labelled pixels per unseen class on 4 images" in dialog.log.toPlainText()
    assert (Path(dialog.out.text()) / "best.pt").is_file() and dialog.use_button.isEnabled()
    assert dialog.bar.value() == 3 and len(dialog.losses[0]) == 3


def test_a_paper_dataset_needs_a_split_and_trains_from_its_own_folder(qtbot, dialog, tmp_path):
    import numpy as np
    from PIL import Image

    from core.io.image import write_label_png
    from gui.training_checks import check_pages

    voc = tmp_path / "VOC2012"
    for n in range(3):
        (voc / "JPEGImages").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((40, 50, 3), 40 * n, np.uint8)).save(voc / "JPEGImages" / f"2007_00000{n}.jpg")
        labels = np.zeros((40, 50), np.uint8)
        labels[5:20, 5:20] = n + 1
        write_label_png(voc / "SegmentationClass" / f"2007_00000{n}.png", labels)
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    (voc / "ImageSets" / "Segmentation" / "train.txt").write_text("2007_000000\n2007_000001\n")
    (voc / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000002\n")
    dialog.data_kind.setCurrentIndex(dialog.data_kind.findData("voc"))
    dialog.data.setText(str(voc))
    dialog.go(1)
    dialog.next_page()
    settle(qtbot, dialog)
    assert dialog.pages.currentIndex() == 1
    assert "type the unseen classes or pick a paper's split" in dialog.problems.text()
    dialog.split.setCurrentIndex(dialog.split.findData("split:voc_15_5"))
    assert dialog.unseen.text() == "split:voc_15_5"
    dialog.next_page()
    settle(qtbot, dialog)
    assert dialog.pages.currentIndex() == 2, dialog.problems.text()
    # every VOC class name is known to GloVe (tvmonitor, pottedplant, ...)
    assert check_pages(dialog.fields(), (1, 2)).errors == []
    args = dialog.train_args()
    assert args[args.index("--data") + 1] == f"voc:{voc}" and args[args.index("--unseen") + 1] == "split:voc_15_5"


def test_closing_the_app_mid_run_leaves_a_run_to_resume(qtbot, make_window, photos, shapes):
    from training.messages import StepDone
    from training.runs import list_runs

    window = make_window()
    window.open_path(photos)
    window.training_dialog()
    dialog = window.trainer_dialog
    window.training_dialog()
    assert window.trainer_dialog is dialog  # the open dialog comes back, no second one
    tiny(dialog).data.setText(str(shapes))
    dialog.steps.setValue(100_000)
    assert start(qtbot, dialog, extra=[*FAST[:-1], "2"])
    qtbot.waitUntil(lambda: isinstance(dialog.last, StepDone) and dialog.last.step >= 3, timeout=60_000)
    window.close()
    (run,) = list_runs(photos / "runs")
    assert run.status == "stopped" and run.resumable and run.step >= 3 and (run.path / "last.pt").is_file()


def test_a_picked_vector_file_becomes_the_matching_encoder_spec():
    from gui.training_pages import encoder_spec

    assert encoder_spec("/d/GoogleNews-vectors-negative300.bin") == "word2vec:/d/GoogleNews-vectors-negative300.bin"
    assert encoder_spec("/d/cc.en.300.bin") == "fasttext:/d/cc.en.300.bin"
    assert encoder_spec("/d/crawl-300d-2M.vec") == "fasttext:/d/crawl-300d-2M.vec"
    assert encoder_spec("/d/class_attribute_labels_continuous.txt").startswith("attributes:")
    assert encoder_spec("") == ""


def test_the_wizard_speaks_a_labelers_language(qtbot, dialog):
    from gui.training_checks import explain_score
    from training.messages import EvalDone

    labels = [dialog.task.itemText(i) for i in range(dialog.task.count())]
    for words in ("Learn the classes of my done images", "Improve on my unlabeled folder",
                  "Train from a public dataset"):
        assert any(label.startswith(words) for label in labels)
    dialog.task.setCurrentIndex([key for _, key in TASKS].index("selftrain"))
    assert "ZS5Net" in dialog.task_help.text() and dialog.task_help.text().startswith("Improve on my unlabeled")
    assert explain_score(0.04).startswith("0.04: the model has not learned yet; train longer or label more images")
    assert "good drafts" in explain_score(0.72) and "rough" in explain_score(0.2)
    dialog._message(EvalDone(step=40, score=0.04, best=True))
    assert "0.04: the model has not learned yet" in dialog.evaluation.text()
