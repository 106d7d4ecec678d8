"""Review of a project's done images: a reviewer accepts an image or sends it back with a note.

An image sent back gets the project status ``review`` (shown in the image list as "needs review"; it is no longer
``done``, so exports and training leave it out until the labeler marks it done again); an accepted one stays
``done``. Decisions and notes live in ``ROOT/review.json`` ({image id: {"state": "accepted" | "sent back",
"note": text}}), written atomically beside project.json. The ``dataset`` export copies the decisions of the images
it exports into its own ``review.json`` (same format), so a dataset opened as a project keeps them.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import ZerolabelError
from core.io.atomic import atomic_write_text

REVIEW_FILE = "review.json"
SENT_BACK = "review"  # the project status of an image sent back


class ReviewError(ZerolabelError):
    """The review file cannot be read or written."""


class Review:
    """The review decisions of one project (``project`` is a :class:`core.annotation.Project`)."""

    def __init__(self, project) -> None:
        self.project = project
        self.path = Path(project.root) / REVIEW_FILE
        self.entries: dict[str, dict[str, str]] = {}
        if self.path.is_file():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ReviewError(f"{self.path}: not a readable review file ({exc}). Move it away to start the "
                                  "review again.") from exc
            if not isinstance(raw, dict):
                raise ReviewError(f"{self.path}: expected an object {{image id: decision}}; move it away to start "
                                  "the review again.")
            for key, value in raw.items():
                if isinstance(value, dict) and isinstance(value.get("state"), str):
                    self.entries[str(key)] = {"state": value["state"], "note": str(value.get("note", ""))}

    def to_review(self, after: str | None = None) -> list[str]:
        """Done images not accepted yet, in project order, starting after ``after`` (wrapping around)."""
        ids = self.project.ids
        start = ids.index(after) + 1 if after in ids else 0
        order = ids[start:] + ids[:start]
        return [i for i in order if self.project.image_status(i) == "done"
                and self.entries.get(i, {}).get("state") != "accepted"]

    def note(self, image_id: str) -> str:
        return self.entries.get(image_id, {}).get("note", "")

    def state(self, image_id: str) -> str:
        return self.entries.get(image_id, {}).get("state", "")

    def accept(self, image_id: str) -> None:
        self._decide(image_id, "accepted", "", "done")

    def send_back(self, image_id: str, note: str) -> None:
        self._decide(image_id, "sent back", note.strip(), SENT_BACK)

    def _decide(self, image_id: str, state: str, note: str, status: str) -> None:
        if getattr(self.project, "read_only", False):
            raise ReviewError(f"{self.project.root}: another zerolabel writes this project; review it there.")
        if image_id not in self.project.images:
            raise ReviewError(f"{image_id!r} is not an image of {self.project.root}.")
        self.entries[image_id] = {"state": state, "note": note}
        try:
            atomic_write_text(self.path, json.dumps(self.entries, indent=1, ensure_ascii=False))
        except OSError as exc:
            raise ReviewError(f"Could not write {self.path}: {exc}") from exc
        if self.project.status.get(image_id) != status:
            self.project.status[image_id] = status
            self.project.save_meta()
