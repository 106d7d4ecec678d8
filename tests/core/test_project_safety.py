"""A project on disk stays consistent: class changes are transactions (also across a crash), one writer holds the
lock, a read-only view writes nothing, and file names that would break the list files are left out with a reason."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from core.annotation import Project, ProjectError, ProjectLocked
from core.annotation.store import LOCK, TXN
from core.io.image import read_label_png, write_image


@pytest.fixture
def project(tmp_path):
    """Three images, classes a, b, c; maps for x and y (y holds every class), an autosave for z."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("x", "y", "z"):
        write_image(folder / f"{name}.png", np.zeros((6, 8, 3), np.uint8))
    p = Project.open_folder(folder)
    for name in ("a", "b", "c"):
        p.add_class(name)
    p.save_labels("x", np.full((6, 8), 3, np.uint8))
    p.save_labels("y", np.array([[0, 1, 2, 3, 255, 0, 0, 0]] * 6, np.uint8))
    p.autosave("z", np.full((6, 8), 2, np.uint8))
    return p


def _snapshot(p: Project) -> dict:
    files = sorted([*(p.root / "SegmentationClass").glob("*.png"), *(p.root / ".autosave").glob("*.png")])
    return {"classes": json.loads((p.root / "project.json").read_text())["classes"],
            "labelmap": (p.root / "labelmap.txt").read_text(),
            **{f"{f.parent.name}/{f.name}": read_label_png(f).tolist() for f in files}}


def test_a_corrupt_label_map_stops_a_class_removal_before_anything_changes(project):
    before = _snapshot(project)
    (project.root / "SegmentationClass" / "w.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    with pytest.raises(ProjectError, match="w.png.*nothing was changed"):
        project.remove_class(0)
    (project.root / "SegmentationClass" / "w.png").unlink()
    assert _snapshot(project) == before and project.names == ["a", "b", "c"]
    assert not (project.root / TXN).exists()


def test_a_failed_write_during_a_class_removal_changes_nothing(project):
    before = _snapshot(project)
    (project.root / TXN).write_text("a file where the transaction folder goes: every write into it fails")
    with pytest.raises(ProjectError, match="nothing was changed"):
        project.move_class(0, 2)
    assert _snapshot(project) == before and project.names == ["a", "b", "c"]


CRASH = textwrap.dedent("""
    import os, signal, sys
    from core.annotation import Project
    project = Project.load(sys.argv[1])
    calls, real_replace = [0], os.replace
    def replace(src, dst):  # the process dies part-way through: a real kill, after N renames
        calls[0] += 1
        if calls[0] > int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)
    os.replace = replace
    project.remove_class(0)
""")


@pytest.mark.parametrize("renames", [1, 5])
def test_a_class_removal_killed_half_way_is_all_old_or_all_new_on_reopen(project, renames):
    """1 rename: killed while the new maps were being written aside (rolled back); 5: while switching (completed)."""
    before = _snapshot(project)
    proc = subprocess.run([sys.executable, "-c", CRASH, str(project.root), str(renames)], capture_output=True,
                          text=True, cwd=os.getcwd(), timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert (project.root / TXN).exists()
    again = Project.load(project.root)
    after = _snapshot(again)
    assert not (project.root / TXN).exists()
    if after["classes"] == before["classes"]:  # rolled back: nothing changed
        assert after == before and renames == 1
    else:  # completed: every map renumbered (a removed, b -> 1, c -> 2), and the class list agrees
        assert [c["name"] for c in after["classes"]] == ["b", "c"] and renames == 5
        assert after["SegmentationClass/x.png"] == np.full((6, 8), 2).tolist()
        assert after["SegmentationClass/y.png"][0] == [0, 0, 1, 2, 255, 0, 0, 0]
        assert after[".autosave/z.png"] == np.full((6, 8), 1).tolist()
        assert "b:" in after["labelmap"] and "a:" not in after["labelmap"]


def test_one_writer_a_second_opener_is_read_only_and_writes_nothing(project):
    project.lock()
    other = Project.load(project.root)
    with pytest.raises(ProjectLocked, match=f"pid {os.getpid()}"):
        other.lock()
    assert other.read_only
    before = _snapshot(project)
    for write in (lambda: other.save_labels("x", np.zeros((6, 8), np.uint8)), lambda: other.add_class("d"),
                  lambda: other.remove_class(0), lambda: other.autosave("y", np.zeros((6, 8), np.uint8))):
        with pytest.raises(ProjectError, match="read-only"):
            write()
    assert _snapshot(project) == before and other.names == ["a", "b", "c"]
    project.unlock()
    assert not (project.root / LOCK).exists()
    third = Project.load(project.root)
    third.lock()  # free again
    third.unlock()


def test_a_lock_from_a_dead_process_is_taken_over_and_one_from_a_live_one_or_another_host_is_not(project):
    lock = project.root / LOCK
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(json.dumps({"pid": child.pid, "host": socket.gethostname(), "token": "t", "started": 0}))
        with pytest.raises(ProjectLocked, match=f"pid {child.pid}"):
            project.lock()
    finally:
        child.kill()
        child.wait()
    project.read_only = ""
    project.lock()  # its process is gone: a stale lock
    assert json.loads(lock.read_text())["pid"] == os.getpid()
    project.unlock()
    lock.write_text(json.dumps({"pid": 1, "host": "another-machine", "token": "t", "started": 0}))
    with pytest.raises(ProjectLocked, match=f"another-machine.*delete {lock}"):
        project.lock()


def test_file_names_that_break_the_list_files_are_left_out_with_a_reason(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    names = ["ok.png", "new\nline.png", " leading.png", "#hash.png", ".hidden.png", "fine two.png"]
    for name in names:
        write_image(folder / name, np.zeros((4, 4, 3), np.uint8))
    p = Project.open_folder(folder)
    assert p.ids == ["fine two", "ok"]
    assert {path.name for path in p.skipped} == set(names) - {"ok.png", "fine two.png"}
    assert all("image id" in reason for reason in p.skipped.values())
    p.add_class("thing")
    for image_id in p.ids:
        p.save_labels(image_id, np.ones((4, 4), np.uint8))
    assert (p.root / "ImageSets" / "Segmentation" / "default.txt").read_text().splitlines() == ["fine two", "ok"]
    for bad in ("x\x07", "\x00", "#tag", "a:b", "background", "x" * 101):
        with pytest.raises(ProjectError):
            p.add_class(bad)
    assert p.add_class("red\rcircle").name == "red circle"  # line breaks typed into a name are spaces
    assert p.add_class("a\u2028b").name == "a b"
    assert p.names == ["thing", "red circle", "a b"] and Project.load(p.root).names == p.names
