"""The wizard's checks never hold the UI thread: while a large word2vec file loads, a timer on the UI thread keeps
firing; the check's answer (an unknown word, or "fine": the trainer starts) still reaches the page; an answer to
fields the labeler changed meanwhile, or left with Back, is dropped."""

from __future__ import annotations

import time

import pytest
from wizard_helpers import tiny

from core.data.shapes import ShapesConfig, write_shapes

#: The most CPU time the UI thread may spend between two ticks of a 5 ms timer while a check runs (its own work,
#: whatever the machine's load: ``gui.latency.LoopProbe.busy``). The wall gap between ticks also counts waiting for
#: a core or for the GIL, which on 2 shared cores reached 0.64 s during a 1.1 s check with the check off the UI
#: thread; a UI thread that runs the check itself is busy for all of it (10.7 s of a 10.6 s check before).
MAX_BUSY_S = 0.25


WORDS = ["red", "green", "blue", "circle", "square", "triangle"]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    write_shapes(root, ShapesConfig(size=64, train=24, val=6, test=6, colours=3, shapes=3, unseen_count=2))
    return root


def _word2vec(path, words: list[str], rows: int = 20_000, dim: int = 50):
    """A word2vec text file large enough that loading it takes seconds (``words`` plus filler words)."""
    vector = " ".join(f"0.{d % 9 + 1}" for d in range(dim))
    names = [*words, *(f"filler{i}" for i in range(rows - len(words)))]
    path.write_text(f"{len(names)} {dim}\n" + "".join(f"{w} {vector}\n" for w in names), encoding="utf-8")
    return path


@pytest.fixture
def dialog(qtbot, tmp_path, shapes):
    from gui.training import TrainingDialog

    d = tiny(TrainingDialog(str(shapes), str(tmp_path / "runs")))
    qtbot.addWidget(d)
    d.show()
    d.go(2)
    d.device.setCurrentIndex(d.device.findData("cpu"))
    yield d
    if d.process is not None:
        d.process.kill()
    d.done(0)


def _check_on_start(qtbot, dialog, done) -> tuple[float, float, float]:
    """Press Start and turn the event loop until ``done()``: (the UI thread's largest own work between two timer
    ticks, the largest wall gap, seconds the check took)."""
    from gui.latency import LoopProbe

    probe = LoopProbe().start("check")
    qtbot.wait(100)
    began = time.perf_counter()
    dialog.start_button.click()
    qtbot.waitUntil(done, timeout=120_000)
    took = time.perf_counter() - began
    qtbot.wait(50)
    probe.stop()
    return probe.busy["check"], probe.max_gap, took


def test_a_word2vec_file_loads_while_the_window_keeps_turning(qtbot, dialog, tmp_path):
    vectors = _word2vec(tmp_path / "vectors.txt", WORDS[:-1])  # no "triangle"
    dialog.embedding.setEditText(f"word2vec:{vectors}")
    busy, gap, took = _check_on_start(qtbot, dialog, lambda: "does not know" in dialog.problems.text())
    print(f"UI thread busy at most {busy * 1000:.0f} ms at once (wall gap {gap * 1000:.0f} ms) during a {took:.1f} s "
          "check (an unknown word)")
    assert took > 2 * MAX_BUSY_S, f"the check took {took:.2f} s: too short to tell a held UI thread"
    assert busy < MAX_BUSY_S, f"the UI thread worked {busy * 1000:.0f} ms at once during a {took:.1f} s check"
    assert "'triangle'" in dialog.problems.text() and dialog.pages.currentIndex() == 2
    assert dialog.process is None and dialog.start_button.isEnabled()

    _word2vec(vectors, WORDS)  # every word known: the answer is "fine" and the trainer starts
    busy, gap, took = _check_on_start(qtbot, dialog, lambda: dialog.process is not None)
    assert busy < MAX_BUSY_S, f"the UI thread worked {busy * 1000:.0f} ms at once during a {took:.1f} s check"
    assert dialog.pages.currentIndex() == 3 and dialog.problems.text() == ""
    assert dialog.process.args[dialog.process.args.index("--embedding") + 1] == f"word2vec:{vectors}"


def test_while_checking_next_waits_back_works_and_a_stale_answer_is_dropped(qtbot, dialog, tmp_path):
    vectors = _word2vec(tmp_path / "vectors.txt", WORDS[:-1])
    dialog.embedding.setEditText(f"word2vec:{vectors}")
    dialog.start_button.click()
    assert dialog.checking and not dialog.start_button.isEnabled() and "Checking" in dialog.problems.text()
    dialog.embedding.setEditText("glove50")  # changed while the file loads: its answer no longer applies
    assert not dialog.checking and dialog.start_button.isEnabled() and dialog.problems.text() == ""
    qtbot.waitUntil(lambda: dialog.checker.running == 0, timeout=120_000)  # the answer arrived and was ignored
    assert "does not know" not in dialog.problems.text() and dialog.process is None

    dialog.embedding.setEditText(f"word2vec:{vectors}")
    dialog.start_button.click()
    assert dialog.back_button.isEnabled()
    dialog.back_button.click()  # Back works during a check, and the check's answer is dropped
    assert dialog.pages.currentIndex() == 1 and not dialog.checking and dialog.next_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.checker.running == 0, timeout=120_000)
    assert dialog.pages.currentIndex() == 1 and "does not know" not in dialog.problems.text()
