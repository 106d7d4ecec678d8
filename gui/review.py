"""Review mode (a mixin of the main window, through its menus): a reviewer steps through the done images, accepts
each or sends it back with a note (:class:`core.annotation.review.Review` keeps the decisions in the project).

Review ▸ Review Done Images shows the done images only and opens the first not accepted yet; Accept and Next
(Ctrl+Shift+Return) keeps it done, Send Back (Ctrl+Shift+R) marks it "needs review" with the note, which the image
list shows in the image's tooltip and the status bar shows when the image is chosen.
"""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog

from core.annotation.review import SENT_BACK, Review, ReviewError


class ReviewMixin:
    """Needs the window's ``project``, ``image_id``, ``navigator``, ``show_image``, ``save``, ``flush``."""

    review: Review | None = None

    def _review(self) -> Review | None:
        if self.project is None:
            self.statusBar().showMessage("Open a folder or project first", 5000)
            return None
        if self.review is None or self.review.project is not self.project:
            try:
                self.review = Review(self.project)
            except ReviewError as exc:
                self.error("Review", str(exc))
                return None
        return self.review

    def start_review(self) -> None:
        review = self._review()
        if review is None:
            return
        self.navigator.filter.setCurrentIndex(3)  # done images only
        self._review_next(first=True)

    def _review_next(self, first: bool = False) -> None:
        left = self.review.to_review(None if first else self.image_id)
        if not left:
            self.statusBar().showMessage("Review finished: every done image is accepted or sent back", 8000)
            return
        self.show_image(left[0])
        self.statusBar().showMessage(f"Reviewing {left[0]}: {len(left)} done image(s) to review", 8000)

    def review_accept(self) -> None:
        review = self._review()
        if review is None or self.image_id is None:
            return
        if self.dirty:  # the reviewer's own touch-ups are part of the accepted labels
            self.save(done=True)
            self.flush()
        try:
            review.accept(self.image_id)
        except ReviewError as exc:
            self.error("Review", str(exc))
            return
        self.navigator.set_status(self.image_id, "done")
        self.navigator.set_note(self.image_id, "")
        self._review_next()

    def review_send_back(self, note: str | None = None) -> None:
        review = self._review()
        if review is None or self.image_id is None:
            return
        if note is None:
            note, ok = QInputDialog.getText(self, "Send back", f"What should be fixed in {self.image_id}?")
            if not ok:
                return
        if self.dirty:
            self.save(done=True)
            self.flush()
        try:
            review.send_back(self.image_id, note)
        except ReviewError as exc:
            self.error("Review", str(exc))
            return
        self.navigator.set_status(self.image_id, SENT_BACK)
        self.navigator.set_note(self.image_id, note)
        self._review_next()

    def show_review_notes(self) -> None:
        """The notes of images sent back, in the image list's tooltips (when a project's images are listed)."""
        if self.project is None or not (self.project.root / "review.json").is_file():
            return
        review = self._review()
        for image_id in self.project.ids if review else ():
            if review.state(image_id) == "sent back" and self.project.image_status(image_id) == SENT_BACK:
                self.navigator.set_note(image_id, review.note(image_id))

    def _review_note_of(self, image_id: str) -> None:
        note = self.navigator.note(image_id)
        if note:
            self.statusBar().showMessage(f"Sent back: {note}", 15000)
