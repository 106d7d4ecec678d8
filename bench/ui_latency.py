"""How long the app's UI thread blocks on large photos, and how long switching to the next photo takes to show its
draft: the real window, offscreen, with the built-in photo model, an event-loop probe (a 5 ms timer on the UI
thread, :class:`gui.latency.LoopProbe`) running throughout.

Per photo size and repeat, a fresh app process opens a folder of three photos and then: adds a class (the first
draft), switches to the next photo once it is decoded and encoded ahead, switches again with every cache emptied
(not prefetched), adds a second class (a draft refresh), moves the opacity slider, shows the heatmap of the class,
and paints a brush stroke. Each row is the largest gap between probe ticks during that action (how long a click or
a repaint would have waited) and, where the action ends in something shown, the wall time until it was shown.
``--before REV`` runs the app's ``gui/`` package as of git revision REV in the same way, interleaved run by run
with the working tree's (medians over the repeats). Writes ``bench/results/ui_latency.md``.

Usage: ``python bench/ui_latency.py [--sizes 4000x3000,6000x4000] [--repeats 3] [--before REV] [--profile]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ui_latency.md"
PHOTOS = ("flower", "rocket", "china")
ACTIONS = ("open", "first draft", "switch (prefetched)", "switch (not prefetched)", "draft refresh", "opacity",
           "heatmap", "brush")


def make_photos(folder: Path, size: tuple[int, int]) -> Path:
    import cv2

    from core.photo import sample_photos_folder

    folder.mkdir(parents=True)
    for i, name in enumerate(PHOTOS):
        rgb = cv2.imread(str(sample_photos_folder() / f"{name}.jpg"))
        cv2.imwrite(str(folder / f"{i}_{name}.jpg"), cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR),
                    [cv2.IMWRITE_JPEG_QUALITY, 85])
    return folder


# -- one app process ----------------------------------------------------------------------------------------
def run_app(folder: Path, profile: bool) -> dict:
    """The scenario in this process; ``{action: [largest gap s, wall s or None, largest UI-thread CPU s]}``."""
    import importlib.util

    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    spec = importlib.util.spec_from_file_location("probe", ROOT / "gui" / "latency.py")  # the same probe for both
    probe_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe_module)
    _app = QApplication.instance() or QApplication([])  # kept alive for the run
    from gui.app import settings
    from gui.main_window import MainWindow
    from gui.workers import DECODED, image_key

    def wait(cond, timeout: float = 1800.0) -> None:  # generous: a niced run on a busy machine is slow
        end = time.perf_counter() + timeout
        while not cond():
            if time.perf_counter() > end:
                raise TimeoutError("the app did not get there in time")
            QTest.qWait(5)

    window = MainWindow(settings())
    window.recovery_policy = window.close_policy = "discard"
    window.use_builtin("photos")
    window.resize(1280, 800)
    window.show()
    wait(lambda: window.model_info[1] != "")
    out: dict[str, list] = {}
    probe = probe_module.LoopProbe(5).start("idle")
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()

    def measure(name: str, act, done=None, settle: float = 0.3) -> None:
        probe.action(name)
        start = time.perf_counter()
        act()
        wall = None
        if done is not None:
            wait(done)
            wall = time.perf_counter() - start
        QTest.qWait(int(settle * 1000))  # what follows the action (its layers landing, a repaint) counts too
        out[name] = [probe.gaps.get(name, 0.0), wall, probe.busy.get(name, 0.0)]
        probe.action("idle")

    def drafted(names: tuple[str, ...]):
        def check() -> bool:
            r = window.result
            return r is not None and r.image_id == window.image_id and r.names == names \
                and window.canvas.labels_item.array is not None
        return check

    measure("open", lambda: window.open_path(folder), lambda: window.rgb is not None)
    measure("first draft", lambda: window.add_class("flower"), drafted(("flower",)))
    predictor = window.worker.predictor
    ids = window.project.ids

    def neighbours_cached() -> bool:
        i = ids.index(window.image_id)
        return all(predictor.is_cached(image_key(window.project.images[ids[(i + s) % len(ids)]])) for s in (1, -1))

    wait(neighbours_cached)
    measure("switch (prefetched)", lambda: window.step_image(1), drafted(("flower",)))
    wait(neighbours_cached)
    with predictor._lock:  # nothing decoded or encoded ahead: the next photo is read and encoded on demand
        predictor._features.clear()
        predictor._logits.clear()
    DECODED._items.clear()
    measure("switch (not prefetched)", lambda: window.step_image(1), drafted(("flower",)))
    measure("draft refresh", lambda: window.add_class("cup"), drafted(("flower", "cup")))

    def opacity() -> None:
        for value in (30, 70, 45):
            window.controls.opacity.setValue(value)
            QTest.qWait(60)

    measure("opacity", opacity)
    window.classes.list.setCurrentRow(0)
    measure("heatmap", lambda: window.controls.layer.setCurrentIndex(1),
            lambda: window.canvas.extra_item.array is not None)
    window.controls.layer.setCurrentIndex(0)
    QTest.qWait(300)

    def stroke() -> None:
        from PySide6.QtCore import Qt

        canvas, view = window.canvas, window.canvas.viewport()
        canvas.fit()
        h, w = window.rgb.shape[:2]
        pts = [canvas.mapFromScene(w * f, h * (0.3 + 0.2 * f)) for f in (0.2, 0.3, 0.4, 0.5, 0.6)]
        QTest.mousePress(view, Qt.MouseButton.LeftButton, pos=pts[0])
        for p in pts[1:]:
            QTest.mouseMove(view, p)
            QTest.qWait(16)
        QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=pts[-1])

    measure("brush", stroke)
    probe.stop()
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    window.close()
    return out


# -- the table --------------------------------------------------------------------------------------------------
def run_variant(gui_root: str, folder: Path, data: Path, profile: bool) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1",
               ZEROLABEL_SETTINGS=str(data / "settings.ini"), ZEROLABEL_DATA=str(data / "data"),
               PYTHONPATH=os.pathsep.join(p for p in (gui_root, str(ROOT)) if p))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--run", str(folder)] + (["--profile"] if profile else [])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(ROOT))
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-4000:]}")
    if profile:
        print(done.stderr[-12000:], file=sys.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fmt(values: list, scale: float = 1000) -> str:
    values = [v for v in values if v is not None]
    return f"{statistics.median(values) * scale:.0f}" if values else "–"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="4000x3000,6000x4000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", default="", help="git revision whose gui/ package is the 'before' column")
    ap.add_argument("--profile", action="store_true", help="print the UI thread's cProfile (one repeat)")
    ap.add_argument("--run", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        print(json.dumps(run_app(Path(args.run), args.profile)))
        return
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        variants = {"after": ""}
        if args.before:
            old = tmp / "before"
            old.mkdir()
            archive = subprocess.run(["git", "archive", args.before, "gui"], cwd=ROOT, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
            variants = {"before": str(old), "after": ""}
        results: dict = {}
        for w, h in sizes:
            folder = make_photos(tmp / f"{w}x{h}", (w, h))
            for rep in range(args.repeats):
                order = list(variants.items())[::-1 if rep % 2 == 0 else 1]  # after first, then alternating
                for name, root in order:
                    data = tmp / f"data_{name}_{w}_{rep}"
                    data.mkdir()
                    got = run_variant(root, folder, data, args.profile)
                    print(f"{w}x{h} {name} #{rep}: " + ", ".join(f"{a} {1000 * g:.0f}/{1000 * c:.0f}"
                                                                 for a, (g, _, c) in got.items()),
                          file=sys.stderr, flush=True)
                    for action, pair in got.items():
                        results.setdefault((w, h, name, action), []).append(pair)
                    write(results, sizes, list(variants), args)  # so far: an interrupted run still leaves a table
    print(RESULTS.read_text())


def write(results: dict, sizes: list, variants: list, args) -> None:
    cmd = "python bench/ui_latency.py " + " ".join(
        f for f in (f"--sizes {args.sizes}", f"--repeats {args.repeats}", f"--before {args.before}" if args.before
                    else "") if f)
    lines = [f"`{cmd}`", "",
             f"{time.strftime('%Y-%m-%d')}; medians over fresh app processes, the columns interleaved run by run; "
             f"Qt offscreen, built-in photo model on the CPU, OMP_NUM_THREADS=1, nice {os.nice(0)}, on a shared "
             f"{os.cpu_count()}-core machine (load average {os.getloadavg()[0]:.1f} at the end).",
             "UI thread busy: the most CPU time the UI thread itself spent between two ticks of a 5 ms timer during "
             "the action (its own work; the figure the 50 ms target is about). Largest gap: the longest time the "
             "event loop could not turn, which adds waiting for a core or for the GIL (on a loaded machine, mostly "
             "waiting). Shown: from the action to its result on screen.", ""]
    for w, h in sizes:
        head = ["action"] + [f"{t}, ms ({v})" for t in ("UI thread busy", "largest gap", "shown after")
                             for v in variants]
        runs = ", ".join(f"{v} {len(results.get((w, h, v, 'open'), []))}" for v in variants)
        lines += [f"### {w}x{h} ({w * h / 1e6:.0f} MP; runs: {runs})", "", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]
        for action in ACTIONS:
            cells = [fmt([p[i] for p in results.get((w, h, v, action), [])]) for i in (2, 0, 1) for v in variants]
            lines.append(f"| {action} | " + " | ".join(cells) + " |")
        lines.append("")
    RESULTS.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
