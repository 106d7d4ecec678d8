"""``zerolabel-gui --smoke OUT``: a self-check of an installed or frozen app, through the real window.

It opens the bundled sample images in a :class:`~gui.main_window.MainWindow` (the demo model unless ``--model``),
types the class names, waits for each image's prediction, saves it, and exports the project's label maps as
indexed PNGs with :func:`core.annotation.export.export_png`. Settings and the project live in a temporary folder
(unless ``$ZEROLABEL_SETTINGS`` / ``$ZEROLABEL_DATA`` say otherwise), so the user's own state is never touched.

Example:
    $ QT_QPA_PLATFORM=offscreen zerolabel-gui --smoke /tmp/smoke --classes "red triangle,blue circle"
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_CLASSES = "red triangle,blue circle,yellow heart"
#: Default classes per built-in sample set (``--smoke OUT --samples photos`` checks the photo model).
SAMPLE_CLASSES = {"shapes": DEFAULT_CLASSES, "photos": "cat,cup,person,rocket,flower"}
TIMEOUT_S = 120.0


class SmokeError(RuntimeError):
    """A step of the smoke run did not finish, or the window reported an error."""


def wait_until(app, window, done: Callable[[], bool], what: str, timeout: float = TIMEOUT_S) -> None:
    """Run the event loop until ``done()``; raise on timeout or when the window shows an error."""
    end = time.monotonic() + timeout
    while not done():
        if window.last_error is not None:
            title, message = window.last_error
            raise SmokeError(f"{what}: {title}: {message}")
        if time.monotonic() > end:
            raise SmokeError(f"{what}: not done after {timeout:.0f} s")
        app.processEvents()
        time.sleep(0.005)


def run(app, window_factory: Callable[[], object], out: str | os.PathLike, classes: str,
        samples: str = "shapes") -> list[Path]:
    """Open the samples, predict ``classes`` on each, save, export indexed PNGs to ``out``; the written files."""
    from core.annotation.export import export_png
    from gui.teach import samples_folder

    def sample_images_folder():
        return samples_folder(samples)

    names = [n.strip() for n in classes.split(",") if n.strip()]
    if not names:
        raise SmokeError("--classes: give at least one class name, e.g. 'red triangle,blue circle'")
    window = window_factory()
    window.recovery_policy = "discard"  # never a modal question in a check
    try:
        window.show()
        wait_until(app, window, lambda: window.model_info[1] != "", "loading the model")
        if not window.open_path(sample_images_folder()):
            raise SmokeError(f"could not open the sample images in {sample_images_folder()}")
        for name in names:
            window.add_class(name)
        project = window.project
        if project.names != names:
            raise SmokeError(f"the project's classes are {project.names}, expected {names}")
        for image_id in project.ids:
            window.show_image(image_id)
            wait_until(app, window, lambda i=image_id: window.result is not None and window.result.image_id == i
                       and window.result.names == tuple(names), f"predicting {image_id}")
            window.save()
            wait_until(app, window, lambda i=image_id: project.label_path(i).is_file(), f"saving {image_id}")
        for _ in export_png(project, project.ids, out):
            pass
        written = [Path(out) / f"{i}.png" for i in project.saved_ids()] + [Path(out) / "labelmap.txt"]
    finally:
        window.close()
    return written


def main(app, window_factory: Callable[[], object], out: str, classes: str = DEFAULT_CLASSES,
         samples: str = "shapes") -> int:
    """Run the smoke check and print what was written; exit status 0 on success, 1 with a message on failure."""
    with tempfile.TemporaryDirectory(prefix="zerolabel-smoke-") as tmp:
        os.environ.setdefault("ZEROLABEL_SETTINGS", str(Path(tmp) / "settings.ini"))
        os.environ.setdefault("ZEROLABEL_DATA", str(Path(tmp) / "data"))
        started = time.perf_counter()
        try:
            written = run(app, window_factory, out, classes, samples)
        except Exception as exc:
            print(f"zerolabel-gui --smoke failed: {exc}", file=sys.stderr)
            return 1
    for path in written:
        print(f"wrote {path}")
    print(f"smoke ok: {len(written)} files in {out} in {time.perf_counter() - started:.1f} s; "
          f"torch imported: {'torch' in sys.modules}")
    return 0
