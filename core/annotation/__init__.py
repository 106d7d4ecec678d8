"""The annotation document, Qt-free: label edits with undo, the project on disk, exports.

The app (``gui``) drives these; tests use them directly. Nothing here imports Qt or torch.
"""

from core.annotation.history import History
from core.annotation.project import ClassSpec, Project, ProjectError
from core.annotation.store import ProjectLocked

__all__ = ["ClassSpec", "History", "Project", "ProjectError", "ProjectLocked"]
