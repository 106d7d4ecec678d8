"""Start the app: ``zerolabel-gui [IMAGE | FOLDER | PROJECT] [--model DIR] [--samples]``.

With no path it reopens the last project, or the bundled sample images the first time; the embedded demo model
is the default. Torch is never imported at start-up (inference runs on ONNX Runtime).

``--version`` prints ``zerolabel <version>``; ``--smoke OUT`` checks an installed or frozen app end to end,
offscreen (see :mod:`gui.smoke`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from core import __version__

STARTED = time.perf_counter()


def settings():
    """The app's QSettings; ``$ZEROLABEL_SETTINGS`` (an .ini path) isolates them, as the tests do."""
    from PySide6.QtCore import QSettings

    path = os.environ.get("ZEROLABEL_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("zerolabel", "zerolabel")


def app_icon():
    """The window icon (``resources/icons/zerolabel.png``, drawn by ``packaging/make_icon.py``)."""
    from importlib.resources import files

    from PySide6.QtGui import QIcon

    return QIcon(str(files("resources") / "icons" / "zerolabel.png"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zerolabel-gui", description="zerolabel annotation app")
    parser.add_argument("path", nargs="?", help="an image, a folder of images or a project to open")
    parser.add_argument("--model", default=None, help="an exported model folder (default: the demo model)")
    parser.add_argument("--text-encoder", default=None, help="glove50, minilm, ... (default: the model's own)")
    parser.add_argument("--samples", action="store_true", help="open the bundled sample images")
    parser.add_argument("--version", action="version", version=f"zerolabel {__version__}")
    parser.add_argument("--smoke", metavar="OUT", default=None,
                        help="self-check: predict the sample images offscreen, export label maps to OUT, exit")
    parser.add_argument("--classes", default=None, help="class names for --smoke, comma-separated")
    parser.add_argument("--quit-after-show", action="store_true", help=argparse.SUPPRESS)  # start-up benchmark
    return parser


def create_window(args: argparse.Namespace):
    from gui.main_window import MainWindow

    window = MainWindow(settings())
    window.load_model(args.model or "", args.text_encoder)
    return window


def open_initial(window, args: argparse.Namespace) -> None:
    from core.inference.runtime import sample_images_folder

    recent = window.recent_projects()
    if args.path:
        window.open_path(args.path)
    elif args.samples or not recent or not os.path.isdir(recent[0]):
        window.open_path(sample_images_folder())
    else:
        window.open_path(recent[0])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.smoke:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gui import platform_check

    missing = platform_check.missing_xcb_libraries() if platform_check.wants_xcb() else []
    if missing:  # Qt would abort naming only the first one
        print(platform_check.message(missing), file=sys.stderr)
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("zerolabel")
    app.setOrganizationName("zerolabel")
    app.setWindowIcon(app_icon())
    if args.smoke:
        from gui import smoke

        return smoke.main(app, lambda: create_window(args), args.smoke, args.classes or smoke.DEFAULT_CLASSES)
    window = create_window(args)
    window.show()
    if args.quit_after_show:
        app.processEvents()
        print(f"shown after {time.perf_counter() - STARTED:.3f} s; torch imported: {'torch' in sys.modules}")
        window.close()
        return 0
    QTimer.singleShot(0, lambda: open_initial(window, args))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
