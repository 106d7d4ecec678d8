"""The training wizard's checks, in a labeler's words: everything is verified before a trainer starts.

Qt-free and torch-free. They run in a worker thread of the app on every "Next" and "Start" (opening a dataset or
loading a word2vec file takes seconds to minutes): the wizard hands over a :class:`WizardFields` snapshot of its
widgets and gets a :class:`PageCheck` back. Datasets are opened with core's readers, class names go through the
chosen text encoder, ImageNet weights and a GPU are looked for on disk.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ZerolabelError

#: Data kinds of the wizard: (label, prefix of the `--data` spec, what the folder is).
DATA_KINDS = [
    ("A dataset folder in zerolabel's layout", "", "a folder with labelmap.txt, JPEGImages/, SegmentationClass/"),
    ("PASCAL VOC 2012", "voc", "the VOC2012 folder (JPEGImages/, SegmentationClass/, ImageSets/)"),
    ("COCO-Stuff 164k", "cocostuff", "the folder with images/ and stuffthingmaps/"),
    ("CUB-200-2011", "cub", "the CUB_200_2011 folder (images/, segmentations/, attributes/)"),
    ("Pascal-Context", "context", "the folder with JPEGImages/ and the 459-label .mat files"),
]
#: Methods a ZS5Net self-training run can start from (softmax models with a classifier over all classes).
SELFTRAIN_BASES = ("zs3net", "zs3net-gc", "spnet", "devise")


def data_spec(kind: str, folder: str) -> str:
    """The ``--data`` value: ``FOLDER`` for our layout, ``voc:FOLDER`` for the papers' datasets."""
    return f"{kind}:{folder}" if kind else folder


@dataclass(frozen=True)
class WizardFields:
    """What the wizard's pages say, read on the UI thread and checked in a worker."""

    task: str
    data_kind: str = ""
    data: str = ""
    unseen: str = ""
    init: str = ""
    base_run: str = ""
    unlabeled: str = ""
    photo_folder: str = ""
    photo_classes: str = ""
    strokes: str = ""
    embedding: str = ""
    backbone: str = "tiny"
    pretrained: bool = False
    device: str = "auto"
    out: str = ""


@dataclass
class PageCheck:
    """The outcome of checking pages: ``index`` is the first page with ``errors`` (or the last one checked)."""

    index: int
    errors: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    summary: str = ""


def method_of(f: WizardFields) -> tuple[str, str]:
    """The ``--method`` of the run and an error (a fine-tune takes its run's method)."""
    return run_method(f.init) if f.task == "finetune" else (f.task, "")


def check_pages(f: WizardFields, pages: tuple[int, ...], new_run: bool = False) -> PageCheck:
    """Check ``pages`` (1: data, 2: model) in order and stop at the first with errors; ``new_run``: the run
    folder must not hold a run already."""
    result = PageCheck(index=0)
    for index in pages:
        result.index = index
        if index == 1:
            if f.task == "photos":
                result.errors = check_photos(f.photo_folder, f.photo_classes, f.strokes)
            elif f.task == "selftrain":
                result.errors = check_selftrain(f.base_run, f.unlabeled)
            else:
                result.errors, result.names, result.summary = check_data(f.data_kind, f.data, f.unseen)
                result.errors += [e for e in [method_of(f)[1]] if e]
        elif index == 2:
            errors = []
            if f.task not in ("selftrain", "photos"):
                errors = check_words(f.embedding, result.names)
                errors += check_model(f.backbone, f.pretrained, f.device)
            elif f.device == "cuda":
                errors = check_model("tiny", False, "cuda")
            if not f.out:
                errors.append("Choose a run folder.")
            elif new_run and _holds_run(f.out):
                errors.append(f"{f.out} already holds a run: choose another run folder (or resume that run).")
            result.errors = errors
        if result.errors:
            break
    return result


def _holds_run(folder: str) -> bool:
    from training.runs import RunFolder

    return RunFolder(folder).started


def check_data(kind: str, folder: str, unseen: str) -> tuple[list[str], list[str], str]:
    """Errors for the labeled data and the split, the dataset's class names (background first), and a one-line
    summary of the split for the labeler (seen / unseen classes, training images)."""
    from core.data.labelmap import LabelMap
    from core.data.open import open_dataset, resolve_unseen

    root = Path(folder)
    if not folder:
        return ["Choose the labeled data: a dataset folder (Browse…), or “Use this project's done images”."], [], ""
    if not root.is_dir():
        return [f"{root}: no such folder."], [], ""
    if not kind and not (root / "labelmap.txt").is_file():
        return [f"{root}: not a dataset in zerolabel's layout (no labelmap.txt). Pick a folder exported with "
                "File ▸ Export ▸ Dataset or made by `zerolabel data`, or choose the dataset's kind above."], [], ""
    typed = [n.strip() for n in unseen.split(",") if n.strip()] if unseen.strip() else None
    if kind and not typed:
        return ["The papers' datasets have no unseen.txt: type the unseen classes or pick a paper's split."], [], ""
    try:
        if not kind:  # name the dataset's classes when a typed one is not among them
            known = list(LabelMap.read(root / "labelmap.txt").names)
            wrong = [n for n in resolve_unseen(typed) or () if n not in known]
            if wrong:
                return [f"Unseen class {', '.join(map(repr, wrong))} is not one of the dataset's classes: "
                        f"{', '.join(known[1:])}. Fix the name, or add the class to {root / 'labelmap.txt'}."], [], ""
        dataset = open_dataset(data_spec(kind, folder), typed)
    except (ZerolabelError, OSError, ValueError) as exc:
        return [str(exc)], [], ""
    errors = []
    if len(dataset.seen) < 2:
        errors.append("At least two seen classes are needed to train (every other class is unseen).")
    images = len(dataset.ids("train")) if "train" in dataset.splits() else 0
    if not images:
        errors.append(f"{root}: the dataset has no training images (ImageSets/Segmentation/train.txt).")
    shown = ", ".join(dataset.unseen[:6]) + ("…" if len(dataset.unseen) > 6 else "")
    summary = (f"{len(dataset.seen)} seen classes are trained, {len(dataset.unseen)} unseen "
               f"({shown or 'none: every class is seen'}) never reach a loss; {images} training images.")
    return errors, list(dataset.classes), summary


def check_words(embedding: str, names: list[str]) -> list[str]:
    """Errors for class names the text encoder cannot embed (each word named)."""
    try:
        from core.embeddings import build_encoder

        missing = build_encoder(embedding).missing(names[1:])
    except (ZerolabelError, OSError, ValueError) as exc:
        return [f"The text encoder {embedding!r} cannot be loaded: {exc}"]
    return [f"The text encoder does not know {', '.join(map(repr, words))} (class {name!r}); rename the class or "
            "pick another text encoder." for name, words in missing.items()]


def check_model(backbone: str, pretrained: bool, device: str) -> list[str]:
    """Errors for ImageNet weights that are not on disk and a GPU that is not there."""
    from core.hub import missing_weights
    from core.inference.runtime import has_nvidia_gpu

    errors = [e for e in [missing_weights(backbone, pretrained)] if e]
    if device == "cuda" and not has_nvidia_gpu():
        errors.append("No NVIDIA GPU (driver) was found on this machine: choose “Automatic” or “CPU”.")
    return errors


def run_method(run: str) -> tuple[str, str]:
    """``(method, error)`` of a finished run folder (read from its config.json)."""
    path = Path(run)
    if not run:
        return "", "Choose the run to start from (a run folder of zerolabel train)."
    from training.runs import RunFolder

    if RunFolder(path).checkpoint is None:
        return "", f"{path}: no best.pt or last.pt in it; is it a run folder of zerolabel train?"
    try:
        method = json.loads((path / "config.json").read_text(encoding="utf-8"))["method"]
        if not isinstance(method, str) or not method:
            raise TypeError(f"'method' is {method!r}, not a method name")
        return method, ""
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        return "", (f"{path / 'config.json'}: missing or unreadable ({exc}); the run cannot be continued from "
                    "the app.")


def check_selftrain(base: str, unlabeled: str) -> list[str]:
    """Errors for a ZS5Net self-training: a softmax base run and a folder with images."""

    method, error = run_method(base) if base else ("", "Choose the ZS3Net run to self-train (a run folder of "
                                                     "`zerolabel train --method zs3net`).")
    errors = [error] if error else []
    if method and method not in SELFTRAIN_BASES:
        errors.append(f"{base} is a {method} run; self-training (ZS5Net) starts from a ZS3Net (or SPNet / DeViSE) "
                      "run: train one first.")
    errors += image_folder_errors(unlabeled, "Choose the folder of unlabeled images.",
                                  "choose a folder of unlabeled images", "images")
    return errors


SCORE_WORDS = ((0.1, "the model has not learned yet; train longer or label more images"),
               (0.3, "learning: drafts will be rough; train longer or label more images"),
               (0.5, "usable drafts: expect to correct the edges"),
               (1.01, "good drafts of the seen classes"))


def explain_score(score: float) -> str:
    """A validation score (mIoU on the seen classes, 0..1) in a labeler's words, e.g. "0.04: the model has not
    learned yet; train longer or label more images"."""
    words = next(text for limit, text in SCORE_WORDS if score < limit)
    return f"{score:.2f}: {words} (mean IoU of the seen classes on the validation images)"


@functools.lru_cache(maxsize=1)
def photo_encoder():
    """The text side of the built-in photo model (which class names its ImageNet concepts support)."""
    from core.embeddings import build_encoder
    from core.photo import photo_model_folder

    manifest = json.loads((photo_model_folder() / "manifest.json").read_text(encoding="utf-8"))
    return build_encoder(manifest["text_encoder"])


def stroke_classes(strokes: str) -> list[str]:
    """The classes a saved stroke head (a project's ``strokes.npz``) was taught; [] without a readable one."""
    if not strokes or not Path(strokes).is_file():
        return []
    from core.photo.strokes import StrokeHead

    try:
        return list(StrokeHead.load(strokes).classes)
    except (ZerolabelError, OSError, ValueError, KeyError):
        return []


def photo_classes(names: list[str], strokes: str) -> list[str]:
    """The class names photo self-training can use: ``names`` the photo model supports or strokes taught (in their
    order), then the other stroke-taught classes."""
    taught = stroke_classes(strokes)
    missing = photo_encoder().missing([n for n in names if n not in taught])
    return [n for n in names if n not in missing] + [n for n in taught if n not in names]


def image_folder_errors(folder: str, choose: str, instead: str, noun: str) -> list[str]:
    """The one check of a folder of unlabeled images: given, a folder, holding at least one image."""
    from core.data.unlabeled import UnlabeledFolder

    if not folder:
        return [choose]
    if not Path(folder).is_dir():
        return [f"{folder}: no such folder; {instead}."]
    if len(UnlabeledFolder(folder)) == 0:
        return [f"{folder}: no {noun} (.jpg, .png, …) in this folder or below it."]
    return []


def check_photos(folder: str, classes: str, strokes: str) -> list[str]:
    """Errors for photo self-training: a folder with photos and class names the photo model (or strokes) knows."""

    errors = []
    errors += image_folder_errors(folder, "Choose the folder of your photos (Browse…).",
                                  "choose the folder of your photos", "photos")
    names = [n.strip() for n in classes.split(",") if n.strip()]
    if not names:
        errors.append("Type at least one class name, e.g. cat, cup (comma-separated).")
        return errors
    taught = stroke_classes(strokes)
    try:
        missing = photo_encoder().missing([n for n in names if n not in taught])
    except (ZerolabelError, OSError, ValueError) as exc:
        return [*errors, f"The photo model cannot be loaded: {exc}"]
    if missing:
        errors.append(f"No ImageNet concept is close to {', '.join(map(repr, missing))}: leave it out, or teach it "
                      "with a few strokes in the app first (Edit ▸ Teach Selected Class from Strokes).")
    return errors
