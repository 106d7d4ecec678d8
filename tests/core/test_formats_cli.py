"""``zerolabel export`` / ``zerolabel import`` through the real parser and main."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from formats_helpers import make_dataset

from cli import formats as formats_cli
from cli import main as cli_main
from core.data.layout import LayoutDataset


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zerolabel")
    formats_cli.register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_register_adds_export_and_import(tmp_path, capsys):
    src, truth = make_dataset(tmp_path / "ds")
    args = _parser().parse_args(["export", str(src), "--format", "yolo-seg", "--out", str(tmp_path / "y")])
    assert args.func(args) == 0
    assert "exported 3 labelled images" in capsys.readouterr().out
    args = _parser().parse_args(["import", str(tmp_path / "y"), "--format", "yolo-seg", "--out", str(tmp_path / "b")])
    assert args.func(args) == 0
    assert (LayoutDataset(tmp_path / "b").label("a") == truth["a"]).all()


@pytest.mark.parametrize("fmt", ["cvat", "labelme", "coco"])
def test_main_round_trip(tmp_path, fmt):
    src, truth = make_dataset(tmp_path / "ds")
    out = str(tmp_path / ("t.zip" if fmt == "cvat" else "o"))
    assert cli_main.main(["export", str(src), "--format", fmt, "--out", out]) == 0
    assert cli_main.main(["import", out, "--format", fmt, "--out", str(tmp_path / "b")]) == 0
    back = LayoutDataset(tmp_path / "b")
    assert all((back.label(i) == labels).all() for i, labels in truth.items())


def test_coco_options_and_no_images(tmp_path):
    src, _ = make_dataset(tmp_path / "ds")
    assert cli_main.main(["export", str(src), "--format", "coco", "--out", str(tmp_path / "c"), "--no-images",
                          "--coco-masks", "polygon", "--coco-per", "class"]) == 0
    assert (tmp_path / "c" / "annotations" / "instances_train.json").is_file()
    assert not (tmp_path / "c" / "images").exists()


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    src, _ = make_dataset(tmp_path / "ds")
    assert cli_main.main(["export", str(src), "--format", "cvat", "--out", str(tmp_path / "t")],) == 2
    assert "CVAT imports a zip" in capsys.readouterr().err
    assert cli_main.main(["export", str(tmp_path / "nope"), "--format", "coco", "--out", str(tmp_path / "c")],) == 2
    assert "nope: no such dataset folder" in capsys.readouterr().err
    assert cli_main.main(["export", str(src), "--format", "labelme", "--out", str(tmp_path / "l"),
                          "--coco-masks", "polygon"]) == 2
    assert "--format coco only" in capsys.readouterr().err
    assert cli_main.main(["import", str(tmp_path / "gone.zip"), "--format", "cvat", "--out", str(tmp_path / "o")],) == 2
    err = capsys.readouterr().err
    assert "gone.zip" in err and "Traceback" not in err


def test_unlabelled_images_come_in_unlabelled(tmp_path):
    from core.annotation.project import Project
    from core.io.image import write_image

    src, _ = make_dataset(tmp_path / "ds")
    cli_main.main(["export", str(src), "--format", "labelme", "--out", str(tmp_path / "lm")])
    write_image(tmp_path / "lm" / "new.png", np.zeros((60, 80, 3), np.uint8))
    cli_main.main(["import", str(tmp_path / "lm"), "--format", "labelme", "--out", str(tmp_path / "p")])
    project = Project.open_folder(tmp_path / "p")
    assert project.image_status("new") == "unlabeled" and project.image_status("a") == "done"


@pytest.mark.parametrize("fmt", ["cvat", "yolo-seg", "labelme", "coco"])
def test_export_a_subset_with_progress(tmp_path, fmt):
    from core.formats import export_dataset, import_dataset

    src, truth = make_dataset(tmp_path / "ds")
    seen = []
    out = tmp_path / ("t.zip" if fmt == "cvat" else "o")
    export_dataset(src, fmt, out, ids=["c", "a"], progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]
    import_dataset(out, fmt, tmp_path / "b")
    back = LayoutDataset(tmp_path / "b")
    assert sorted(i for split in back.splits() for i in back.ids(split)) == ["a", "c"]


def test_formats_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, cli.formats, core.annotation.project; "
            "sys.exit(1 if 'torch' in sys.modules or 'PySide6' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_import_without_images_says_what_to_do(tmp_path, capsys):
    src, _ = make_dataset(tmp_path / "ds")
    assert cli_main.main(["export", str(src), "--format", "cvat", "--out", str(tmp_path / "t.zip"), "--no-images"]) == 0
    assert cli_main.main(["import", str(tmp_path / "t.zip"), "--format", "cvat", "--out", str(tmp_path / "b")]) == 0
    assert "3 labelled images came without their image file" in capsys.readouterr().out
