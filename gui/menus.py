"""The main window's menus, built from the one shortcut table in :mod:`gui.shortcuts` (a mixin, to keep the window
file short), and the wiring of the editing tools: brush size remembered between runs, class hotkeys 1..9, the
class field handing the keyboard back to the canvas, the photo view adjustments and the heatmap legend."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from gui.review import ReviewMixin
from gui.shortcuts import SHORTCUTS, keys

BRUSH_DEFAULT = 15


def saved_brush(value: object) -> int:
    """The brush size a settings file holds (an INI file gives text back); anything else is the default."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 400 else BRUSH_DEFAULT


class MenusMixin(ReviewMixin):
    """Needs the window's slots (open, save, edits, view, tools, model, training)."""

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _act(self, menu, action_id: str, slot, tip: str = "") -> QAction:
        """An action whose text and keys come from the shortcut table."""
        row = next(r for r in SHORTCUTS if r[0] == action_id)
        return self._action(menu, row[2], slot, [QKeySequence(k) for k in row[3]], tip or row[4])

    def _menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._act(f, "open_image", self.open_image_dialog)
        self._act(f, "open_folder", self.open_folder_dialog)
        self.recent_menu = f.addMenu("Recent Projects")
        self._refresh_recent()
        f.addSeparator()
        self._act(f, "save", self.save)
        self._act(f, "done", self.mark_done)
        self._act(f, "export", self.export_dialog)
        self._action(f, "&Import Labelled Dataset…", self.import_dialog,
                     tip="Make a project from a CVAT, YOLO-seg, LabelMe or COCO export")
        f.addSeparator()
        self._act(f, "quit", self.close)
        e = bar.addMenu("&Edit")
        self.undo_action = self._act(e, "undo", self.undo)
        self.redo_action = self._act(e, "redo", self.redo)
        e.addSeparator()
        self._act(e, "accept_class", self.accept_class)
        self._act(e, "accept_all", self.accept_all)
        self._act(e, "specks", self.remove_specks)
        self._act(e, "clear", self.clear_labels)
        v = bar.addMenu("&View")
        self._act(v, "zoom_in", lambda: self.canvas.zoom(1.25))
        self._act(v, "zoom_out", lambda: self.canvas.zoom(0.8))
        self._act(v, "fit", self.canvas.fit)
        v.addSeparator()
        self._act(v, "next", lambda: self.step_image(1))
        self._act(v, "previous", lambda: self.step_image(-1))
        self._act(v, "next_unlabeled", self.next_unlabeled)
        self._act(v, "find_image", self.navigator.focus_search)
        t = bar.addMenu("&Tools")
        for tool in ("brush", "eraser", "refine", "polygon", "fill", "pan"):
            self._act(t, tool, lambda _=False, name=tool: self.controls.set_tool(name))
        self._act(t, "bigger", lambda: self.controls.brush.setValue(int(self.controls.brush.value() * 1.25) + 1))
        self._act(t, "smaller", lambda: self.controls.brush.setValue(int(self.controls.brush.value() * 0.8)))
        classes = t.addMenu("Select Class")
        for i, key in enumerate(keys("class_1")):
            self._action(classes, f"Class {key}", lambda _=False, row=i: self.select_class(row), key)
        tr = bar.addMenu("T&raining")
        self._action(tr, "&Train a Model…", self.training_dialog, "Ctrl+T",
                     tip="Train in a separate process with live progress; a finished run becomes the model")
        m = bar.addMenu("&Model")
        self._action(m, "Open Exported &Model Folder…", lambda: self.pick_model(run=False))
        self._action(m, "Open &Training Run…", lambda: self.pick_model(run=True),
                     tip="A run folder from `zerolabel train`; it is exported to ONNX once (needs torch)")
        self._action(m, "Use the &Demo Model", lambda: self.load_model(""))
        self.runs_menu = m.addMenu("Runs of This Project")
        self.runs_menu.aboutToShow.connect(self.refresh_runs)
        text = m.addMenu("Text Encoder")
        for label, spec in (("The model's own", ""), ("GloVe 6B 50-d (glove50)", "glove50"),
                            ("all-MiniLM-L6-v2 (minilm)", "minilm")):
            self._action(text, label, lambda _=False, s=spec: self.load_model(self.setting("model"), s))
        r = bar.addMenu("Re&view")
        self._act(r, "review", self.start_review)
        self._act(r, "review_accept", self.review_accept)
        self._act(r, "review_back", lambda: self.review_send_back())
        h = bar.addMenu("&Help")
        self._act(h, "help", self.show_shortcuts)
        self._install_tools()

    # -- tools wiring ------------------------------------------------------------------------------------
    def _install_tools(self) -> None:
        size = saved_brush(self.settings.value("brush_px", BRUSH_DEFAULT))
        self.controls.brush.setValue(size)
        self.canvas.set_brush_size(size)
        self.controls.brush.valueChanged.connect(lambda v: self.settings.setValue("brush_px", int(v)))
        self.controls.tolerance.valueChanged.connect(lambda v: setattr(self.canvas, "fill_tolerance", int(v)))
        self.controls.view_changed.connect(self.canvas.set_adjust)
        self.controls.layer.currentIndexChanged.connect(lambda _: self.canvas.set_legend(self.controls.layer_name))
        # after Enter in the class field the keys are shortcuts again ("0" fits the view, not "0table")
        self.classes.entry.returnPressed.connect(lambda: self.canvas.setFocus(Qt.FocusReason.ShortcutFocusReason))
        self.navigator.images_set.connect(self.show_review_notes)
        self.navigator.image_chosen.connect(self._review_note_of)
        self.status_pos.setVisible(False)  # the canvas shows the cursor position in its corner instead
        self.canvas.setFocus()

    def select_class(self, row: int) -> None:
        """Class hotkeys 1..9: the class at that row (1-based key) becomes the one painted."""
        if 0 <= row < self.classes.list.count():
            self.classes.list.setCurrentRow(row)
            self.statusBar().showMessage(f"Painting {self.classes.list.item(row).text()}", 2000)

    def show_shortcuts(self) -> None:
        from gui.help import ShortcutSheet

        sheet = getattr(self, "shortcut_sheet", None) or ShortcutSheet(self)
        self.shortcut_sheet = sheet
        sheet.show()
        sheet.raise_()
