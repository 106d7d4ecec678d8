"""The main window's menus: every action with its shortcut (a mixin, to keep the window file short)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence


class MenusMixin:
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

    def _menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "Open &Image…", self.open_image_dialog, QKeySequence.StandardKey.Open)
        self._action(f, "Open &Folder or Project…", self.open_folder_dialog, "Ctrl+Shift+O")
        self.recent_menu = f.addMenu("Recent Projects")
        self._refresh_recent()
        f.addSeparator()
        self._action(f, "&Save Labels", self.save, QKeySequence.StandardKey.Save)
        self._action(f, "Mark &Done and Next Unlabeled", self.mark_done, "Ctrl+Return")
        self._action(f, "&Export…", self.export_dialog, "Ctrl+E")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = bar.addMenu("&Edit")
        self.undo_action = self._action(e, "&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(e, "&Redo", self.redo, [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        e.addSeparator()
        self._action(e, "&Accept Model Mask for Selected Class", self.accept_class, "A")
        self._action(e, "Accept Model Masks for &All Classes", self.accept_all, "Shift+A")
        self._action(e, "Remove &Specks", self.remove_specks, "Shift+S")
        self._action(e, "&Clear Labels", self.clear_labels, "Ctrl+Shift+Backspace")
        v = bar.addMenu("&View")
        self._action(v, "Zoom &In", lambda: self.canvas.zoom(1.25), [QKeySequence("+"), QKeySequence("=")])
        self._action(v, "Zoom &Out", lambda: self.canvas.zoom(0.8), "-")
        self._action(v, "&Fit to Window", self.canvas.fit, "0")
        v.addSeparator()
        self._action(v, "&Next Image", lambda: self.step_image(1), [QKeySequence("D"), QKeySequence("PgDown")])
        self._action(v, "&Previous Image", lambda: self.step_image(-1), [QKeySequence("S"), QKeySequence("PgUp")])
        self._action(v, "Next &Unlabeled Image", self.next_unlabeled, "N")
        t = bar.addMenu("&Tools")
        self._action(t, "&Brush", lambda: self.controls.set_tool("brush"), "B")
        self._action(t, "&Eraser", lambda: self.controls.set_tool("eraser"), "E")
        self._action(t, "&Pan", lambda: self.controls.set_tool("pan"), "H")
        self._action(t, "Bigger Brush", lambda: self.controls.brush.setValue(int(self.controls.brush.value() * 1.25)
                                                                              + 1), "]")
        self._action(t, "Smaller Brush", lambda: self.controls.brush.setValue(int(self.controls.brush.value() * 0.8)),
                     "[")
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

