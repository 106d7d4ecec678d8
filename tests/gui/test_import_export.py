"""Moving work between tools from the app: the export dialog writes CVAT / YOLO-seg / LabelMe / COCO, File ▸ Import
Labelled Dataset turns another tool's export into a project and opens it, and the dataset export carries the review
decisions and notes."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox

from core.annotation import Project
from core.annotation.review import Review
from core.formats import export_dataset, import_dataset
from core.inference.runtime import sample_images_folder
from core.io.image import image_size


def _labelled(photos, *ids):
    """A folder project with ``ids`` marked done: a class painted on the top-left quarter."""
    project = Project.open_folder(photos)
    project.add_class("heart")
    maps = {}
    for image_id in ids:
        w, h = image_size(project.images[image_id])
        labels = np.zeros((h, w), np.uint8)
        labels[: h // 2, : w // 2] = 1
        project.save_labels(image_id, labels, done=True)
        maps[image_id] = labels
    return project, maps


def _run_export(qtbot, project, fmt, out):
    from gui.dialogs import ExportDialog

    dialog = ExportDialog(project, None)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))
    dialog.out.setText(str(out))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.result_message is not None, timeout=20_000)
    message = dialog.message.text()
    dialog.done(0)
    return dialog.result_message, message


def test_export_dialog_offers_every_format_and_a_file_or_folder(qtbot, photos):
    from gui.dialogs import ExportDialog

    project, _ = _labelled(photos, "test_00001")
    dialog = ExportDialog(project, None)
    qtbot.addWidget(dialog)
    keys = [dialog.format.itemData(i) for i in range(dialog.format.count())]
    assert {"cvat", "yolo-seg", "labelme", "coco", "dataset"} <= set(keys)
    for fmt, name in (("cvat", "export-cvat.zip"), ("coco", "export.json"), ("yolo-seg", "export-yolo-seg"),
                      ("labelme", "export-labelme")):
        dialog.format.setCurrentIndex(dialog.format.findData(fmt))
        assert dialog.out.text() == str(photos / name)  # a file for cvat and coco, a folder otherwise
    dialog.done(0)


def test_export_dialog_writes_a_cvat_zip_that_imports_to_the_same_pixels(qtbot, photos, tmp_path):
    project, maps = _labelled(photos, "test_00001")
    error, message = _run_export(qtbot, project, "cvat", tmp_path / "task.zip")
    assert error == "" and "Exported 1 done image(s)" in message
    assert import_dataset(tmp_path / "task.zip", "cvat", tmp_path / "back") == 1
    back = Project.load(tmp_path / "back")
    assert back.names == ["heart"]
    np.testing.assert_array_equal(back.load_labels("test_00001") == 1, maps["test_00001"] == 1)


def test_export_dialog_writes_yolo_seg_and_labelme_folders(qtbot, photos, tmp_path):
    project, _ = _labelled(photos, "test_00001")
    for fmt in ("yolo-seg", "labelme"):
        error, _ = _run_export(qtbot, project, fmt, tmp_path / fmt)
        assert error == ""
        assert import_dataset(tmp_path / fmt, fmt, tmp_path / f"{fmt}-back") == 1


def test_import_labelled_dataset_from_the_file_menu_opens_the_new_project(qtbot, make_window, tmp_path):
    samples = sample_images_folder()
    ids = ["test_00001", "test_00002"]
    export_dataset(samples, "cvat", tmp_path / "task.zip", ids=ids)
    window = make_window()
    action = next(a for a in window.actions() if a.text() == "&Import Labelled Dataset…")
    action.trigger()
    dialog = window.import_window
    assert dialog.isVisible()
    dialog.format.setCurrentIndex(dialog.format.findData("cvat"))
    dialog.source.setText(str(tmp_path / "task.zip"))
    dialog.out.setText(str(tmp_path / "imported"))
    dialog.import_button.click()
    qtbot.waitUntil(lambda: window.project is not None and window.project.root == tmp_path / "imported",
                    timeout=30_000)
    assert not dialog.isVisible()
    assert window.project.ids == ids and window.project.ids_with_status("done") == ids
    qtbot.waitUntil(lambda: window.rgb is not None, timeout=10_000)
    truth = np.asarray(Image.open(samples / "SegmentationClass" / "test_00001.png"))
    np.testing.assert_array_equal(window.project.load_labels("test_00001") > 0, (truth > 0) & (truth < 255))


def test_import_into_a_folder_that_is_not_empty_says_so_and_keeps_it(qtbot, make_window, tmp_path):
    export_dataset(sample_images_folder(), "cvat", tmp_path / "task.zip", ids=["test_00001"])
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("keep me")
    window = make_window()
    window.import_dialog()
    dialog = window.import_window
    dialog.source.setText(str(tmp_path / "task.zip"))
    dialog.out.setText(str(tmp_path / "busy"))
    dialog.import_button.click()
    qtbot.waitUntil(lambda: dialog.result_message is not None, timeout=20_000)
    assert "busy" in dialog.message.text() and "Import failed" in dialog.message.text()
    assert (tmp_path / "busy" / "mine.txt").read_text() == "keep me" and window.project is None
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()


def test_the_dataset_export_carries_review_decisions_and_notes(qtbot, photos, tmp_path):
    project, _ = _labelled(photos, "test_00001", "test_00002", "test_00000")
    review = Review(project)
    review.accept("test_00001")
    review.send_back("test_00002", "missing the left edge")
    error, _ = _run_export(qtbot, project, "dataset", tmp_path / "ds")
    assert error == ""
    saved = json.loads((tmp_path / "ds" / "review.json").read_text())
    # the done images are exported; the one sent back is not done, so neither it nor its note travels
    assert saved == {"test_00001": {"state": "accepted", "note": ""}}
    from core.annotation.export import export

    list(export(project, ["test_00001", "test_00002"], "dataset", tmp_path / "ds2"))
    saved = json.loads((tmp_path / "ds2" / "review.json").read_text())
    assert saved["test_00002"] == {"state": "sent back", "note": "missing the left edge"}
    assert Review(Project.open_folder(tmp_path / "ds2")).note("test_00002") == "missing the left edge"
    list(export(project, ["test_00000"], "dataset", tmp_path / "ds3"))  # no decision: no file
    assert not (tmp_path / "ds3" / "review.json").exists()
