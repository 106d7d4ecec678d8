"""Start the app: ``zerolabel-gui [IMAGE | FOLDER | PROJECT] [--model DIR|photos|shapes] [--samples [photos|shapes]]``.

With no path it reopens the last project, or the bundled sample photos the first time (with starting class names);
the built-in photo model (ImageNet concepts) is the default, the shapes demo stays selectable (``--samples shapes``,
Model menu). Torch is never imported at start-up (inference runs on ONNX Runtime).

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
    parser.add_argument("--model", default=None,
                        help="an exported model folder, or a built-in model: photos (default) or shapes")
    parser.add_argument("--text-encoder", default=None, help="glove50, minilm, ... (default: the model's own)")
    parser.add_argument("--samples", nargs="?", const="photos", choices=("photos", "shapes"), default=None,
                        help="open the bundled sample photos (default) or shapes, on the matching built-in model")
    parser.add_argument("--version", action="version", version=f"zerolabel {__version__}")
    parser.add_argument("--smoke", metavar="OUT", default=None,
                        help="self-check: predict the sample images offscreen, export label maps to OUT, exit")
    parser.add_argument("--classes", default=None, help="class names for --smoke, comma-separated")
    parser.add_argument("--quit-after-show", action="store_true", help=argparse.SUPPRESS)  # start-up benchmark
    return parser


def create_window(args: argparse.Namespace):
    from gui.main_window import MainWindow

    window = MainWindow(settings())
    window.load_model(default_model(args), args.text_encoder)
    return window


def default_model(args: argparse.Namespace) -> str:
    """``--model``, else the built-in model of ``--samples``; the photo model by default, the shapes demo for
    ``--smoke`` (its default classes are the demo's)."""
    if args.model:
        return args.model
    if args.samples:
        return args.samples
    return "shapes" if args.smoke else "photos"


def open_initial(window, args: argparse.Namespace) -> None:
    recent = window.recent_projects()
    if args.path:
        window.open_path(args.path)
    elif args.samples or not recent or not os.path.isdir(recent[0]):
        window.open_samples(args.samples or "photos")
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

        samples = args.samples or "shapes"
        return smoke.main(app, lambda: create_window(args), args.smoke,
                          args.classes or smoke.SAMPLE_CLASSES[samples], samples)
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
