"""Large photos in the app: the next image is decoded and encoded ahead (switching to it runs only the scorer), and
the event loop keeps turning while a 24-MP photo's draft refreshes (an event-loop probe; the gap is reported, and
only blocking of seconds fails the test: timings on a shared machine are not asserted)."""

from __future__ import annotations

import time

import cv2
import pytest
from PySide6.QtCore import QTimer

from core.photo import sample_photos_folder
from gui.workers import DECODED, image_key
from tests.gui.test_photos import photo_window, type_class  # noqa: F401 (fixture)


def large_photos(folder, size, names=("china", "rocket", "flower")):
    """Sample photos resized to ``size`` (w, h) as JPEGs, as a labeler's camera would give them."""
    folder.mkdir()
    for i, name in enumerate(names):
        rgb = cv2.imread(str(sample_photos_folder() / f"{name}.jpg"))
        cv2.imwrite(str(folder / f"{i}_{name}.jpg"), cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR),
                    [cv2.IMWRITE_JPEG_QUALITY, 85])
    return folder


class LoopProbe:
    """A 10 ms timer that records the longest gap between its ticks (how long the UI thread was busy)."""

    def __init__(self) -> None:
        self.ticks, self.max_gap, self._last = 0, 0.0, None
        self.timer = QTimer(interval=10, timeout=self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.max_gap = max(self.max_gap, now - self._last)
        self._last, self.ticks = now, self.ticks + 1

    def start(self) -> LoopProbe:
        self._last = time.perf_counter()
        self.timer.start()
        return self

    def stop(self) -> None:
        self.timer.stop()


def test_next_photo_is_encoded_ahead_and_shown_at_scorer_speed(qtbot, photo_window, tmp_path):  # noqa: F811
    window = photo_window()
    folder = large_photos(tmp_path / "big", (4000, 3000))
    assert window.open_path(folder)
    type_class(qtbot, window, "flower")
    qtbot.waitUntil(lambda: window.result is not None and window.result.names == ("flower",), timeout=60_000)
    predictor = window.worker.predictor
    nxt, prev = (window.project.images[i] for i in ("1_rocket", "2_flower"))
    qtbot.waitUntil(lambda: predictor.is_cached(image_key(nxt)) and predictor.is_cached(image_key(prev)),
                    timeout=60_000)  # both neighbours, while the labeler looks at the first one
    assert len(DECODED._items) <= DECODED.size and predictor.cache_size < 100  # bounded
    runs = predictor.encoder_runs
    start = time.perf_counter()
    window.step_image(-1)
    qtbot.waitUntil(lambda: window.image_id == "2_flower" and window.result is not None
                    and window.result.image_id == "2_flower", timeout=60_000)
    shown = time.perf_counter() - start
    assert not window.result.encoded and predictor.encoder_runs == runs
    assert "scorer only" in window.status_latency.text()
    assert (window.history.labels == 1).mean() > 0.05  # the dahlia, at 4000x3000
    print(f"\nswitch to the previous 4000x3000 photo -> draft shown: {shown * 1000:.0f} ms "
          f"(prediction {window.result.seconds * 1000:.0f} ms, scorer only)")


def test_event_loop_keeps_turning_while_a_24_mp_draft_refreshes(qtbot, photo_window, tmp_path):  # noqa: F811
    window = photo_window()
    folder = large_photos(tmp_path / "huge", (6000, 4000), names=("flower",))
    assert window.open_path(folder)
    type_class(qtbot, window, "flower")
    qtbot.waitUntil(lambda: window.result is not None and window.result.names == ("flower",), timeout=120_000)
    assert window.history.labels.shape == (4000, 6000)
    probe = LoopProbe().start()
    start = time.perf_counter()
    type_class(qtbot, window, "cup")  # a class edit: the draft of the 24-MP photo is refreshed
    qtbot.waitUntil(lambda: window.result is not None and window.result.names == ("flower", "cup"),
                    timeout=120_000)
    qtbot.wait(50)  # the overlay is set and painted
    probe.stop()
    refresh = time.perf_counter() - start
    print(f"\n24-MP draft refresh {refresh * 1000:.0f} ms; event loop max gap {probe.max_gap * 1000:.0f} ms "
          f"over {probe.ticks} ticks")
    assert probe.ticks >= 3  # the loop turned while the worker scored
    assert probe.max_gap < 3.0  # generous: catches blocking for seconds, not a timing claim
    assert window.canvas.labels_item.array.shape[:2] == (4000, 6000)


@pytest.fixture(autouse=True)
def _empty_decoded_cache():
    yield
    DECODED._items.clear()  # 24-MP images do not outlive their test
