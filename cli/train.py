"""``zerolabel train | selftrain | eval``: the training and evaluation commands (thin: flags to a
:class:`training.config.TrainConfig`, then :class:`training.trainer.Trainer`, ``training.selftrain.selftrain`` or
``core.evaluate.evaluate_checkpoint``)."""

from __future__ import annotations

import argparse
import dataclasses
import threading
from pathlib import Path

from cli.flags import number
from cli.progress import reporting, run_flags, select_device
from core.data.open import absolute_spec, resolve_unseen
from core.errors import ZerolabelError
from core.io.atomic import ensure_writable_folder
from training.config import LIMITS, METHODS, TrainConfig, preset
from training.runs import resolve_checkpoint


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` and ``eval``."""
    t = subparsers.add_parser(
        "train",
        help="train a zero-shot segmenter on seen classes",
        description="Train on the seen classes of a dataset in zerolabel's layout. Unseen classes (--unseen, "
        "default DATA/unseen.txt) never reach a loss; the checkpoint is chosen on seen-class validation only.",
    )
    t.add_argument("--method", required=True, choices=METHODS)
    t.add_argument("--data", required=True, help="DIR (zerolabel layout) or voc:ROOT, voc-aug:VOC,SBD, "
                   "cocostuff:ROOT, context:ROOT, cub:ROOT")
    t.add_argument("--unseen", help='comma-separated unseen classes or split:NAME (default: DATA/unseen.txt; '
                   '"" = none, an oracle)')
    t.add_argument("--embedding", default="glove50", help="glove50|minilm|word2vec:PATH|fasttext:PATH|"
                   "attributes:PATH|P1+P2 (default glove50)")
    t.add_argument("--backbone", default=None, help="tiny|effnet-lite0|vgg16|resnet101 (default: preset's)")
    t.add_argument("--pretrained", action="store_true", default=None, help="ImageNet backbone weights (offline)")
    t.add_argument("--preset", default="fast", choices=("fast", "paper"))
    t.add_argument("--out", required=True, help="run folder")
    t.add_argument("--resume", action="store_true", help="continue OUT/last.pt (same optimizer, schedule, RNG)")
    t.add_argument("--optimizer", choices=("adam", "sgd"), help="override the preset's optimizer")
    t.add_argument("--init", help="fine-tune: start from the weights of this run folder (best.pt) or checkpoint")
    t.add_argument("--freeze-backbone", action="store_true", default=None,
                   help="train only the layers above the image backbone (a quick refit, e.g. with --init)")
    run_flags(t)
    t.add_argument("--view", choices=("drop", "ignore"), help="zero-shot view: drop (ZS3Net) or ignore (SPNet)")
    for name in ("steps", "batch-size", "lr", "backbone-lr", "image-size", "seed", "eval-every", "checkpoint-every",
                 "episode-classes", "gmmn-steps"):
        t.add_argument(f"--{name}", type=_limited(name), help="override the preset")
    t.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="method option, e.g. word_module=cnn (repeatable)")
    t.set_defaults(func=run_train)

    st = subparsers.add_parser(
        "selftrain",
        help="ZS5Net: self-train a zs3net run on a folder of unlabeled images (top-p%% pseudo-labels)",
    )
    st.add_argument("run", help="run folder of `zerolabel train --method zs3net|zs3net-gc|spnet|devise`")
    st.add_argument("--unlabeled", required=True, help="folder of images (searched recursively)")
    st.add_argument("--top-p", type=number(float, high=100, above=0), default=25.0,
                    help="percent of confident pixels kept per unseen class (0 < P <= 100)")
    st.add_argument("--rounds", type=number(int, 1, 100), default=1)
    st.add_argument("--steps", type=_limited("steps"), default=300, help="fine-tuning steps per round")
    st.add_argument("--out", required=True, help="new run folder")
    st.add_argument("--resume", action="store_true", help="continue OUT/last.pt with the round's saved pseudo-labels")
    run_flags(st)
    st.set_defaults(func=run_selftrain)

    e = subparsers.add_parser("eval", help="evaluate a run on a dataset split (ZLSS or GZLSS)")
    e.add_argument("run", help="run folder (uses best.pt) or a checkpoint file")
    e.add_argument("--data", required=True, help="dataset: DIR, voc:ROOT, cocostuff:ROOT, context:ROOT, cub:ROOT")
    e.add_argument("--unseen", help="unseen classes or split:NAME (default: DATA/unseen.txt, else the run's split)")
    e.add_argument("--split", default="test")
    e.add_argument("--setting", default="gzlss", choices=("zlss", "gzlss"))
    e.add_argument("--calibration", type=number(float), default=0.0, help="gamma subtracted from seen-class scores")
    e.add_argument("--limit", type=number(int, 1), help="evaluate only the first N images")
    e.add_argument("--json", type=Path, help="write the metrics JSON here")
    e.set_defaults(func=run_eval)


def _limited(flag: str):
    """The argparse type of a ``train`` flag, with the range :data:`training.config.LIMITS` gives its setting."""
    kind, low, high, above = LIMITS[flag.replace("-", "_")]
    return number(kind, low, high, above=above)


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def unseen_flag(text: str | None) -> tuple[str, ...] | None:
    """``--unseen`` of train and eval: ``split:NAME``, or comma-separated names ("" = none, the oracle)."""
    if text is None:
        return None
    if text.startswith("split:"):
        return tuple(resolve_unseen(text))
    return tuple(n.strip() for n in text.split(",") if n.strip())


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Preset values, then every flag the user gave."""
    values = preset(args.preset, args.method)
    if args.backbone is not None and args.backbone != values.get("backbone") and args.pretrained is None:
        values["pretrained"] = False  # the preset's ImageNet weights are its backbone's; another takes --pretrained
    for field in dataclasses.fields(TrainConfig):
        given = getattr(args, field.name, None)
        if given is not None and field.name not in ("unseen", "options"):
            values[field.name] = given
    # --unseen "" (empty) means no unseen class at all: the supervised oracle of the benchmark table.
    unseen = unseen_flag(args.unseen)
    options = {}
    for item in args.option:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ZerolabelError(f"--option {item!r}: expected KEY=VALUE, e.g. word_module=cnn")
        options[key.strip()] = _value(raw.strip())
    # Absolute folders: the run's config.json and status.json must mean the same data from any directory.
    if values.get("init"):
        values["init"] = str(Path(values["init"]).expanduser().absolute())
    return TrainConfig(**{**values, "method": args.method, "data": absolute_spec(args.data),
                          "out": str(Path(args.out).expanduser().absolute()), "unseen": unseen, "options": options})


def run_train(args: argparse.Namespace) -> int:
    import signal

    from training.trainer import Trainer

    select_device(args.device)
    cfg = config_from_args(args)
    if args.resume and (Path(cfg.out) / "config.json").exists():
        saved = TrainConfig.read(Path(cfg.out) / "config.json")
        # Runs written before configs held absolute folders: compare the folders, not the spellings.
        saved = dataclasses.replace(saved, data=absolute_spec(saved.data), out=cfg.out)
        for name in ("method", "data"):
            if getattr(saved, name) != getattr(cfg, name):
                raise ZerolabelError(f"--resume: {cfg.out} is a run with --{name} {getattr(saved, name)}, not "
                                     f"{getattr(cfg, name)}; resume with the run's own --{name} or start a new run")
        cfg = dataclasses.replace(saved, steps=cfg.steps if args.steps else saved.steps)
    from core.models.backbones import backbone_names

    if cfg.backbone not in backbone_names():  # said now, not after the data is loaded
        raise ZerolabelError(f"--backbone {cfg.backbone!r} is unknown; choose one of {', '.join(backbone_names())}")
    ensure_writable_folder(cfg.out)  # a read-only folder or a file in the way: said now, not after loading data
    # What a later `--resume` needs to continue this run (the app's run list offers it).
    command = ["train", "--method", cfg.method, "--data", cfg.data, "--out", cfg.out]
    with reporting(args, cfg.out, command) as messages:
        trainer = Trainer(cfg, messages, resume=args.resume)
        # SIGTERM (the app's Cancel) is a cooperative stop: the step ends, last.pt is written, --resume continues.
        signal.signal(signal.SIGTERM, lambda *_: trainer.stop.set())
        signal.signal(signal.SIGCONT, lambda *_: trainer.reset_clock())  # the app's Pause / Continue
        try:
            trainer.fit()
        except KeyboardInterrupt:
            trainer.stop.set()
            trainer.save()
            raise
    return 0


def run_selftrain(args: argparse.Namespace) -> int:
    import signal

    from training.selftrain import selftrain

    select_device(args.device)
    # Absolute paths: the recorded command (status.json) resumes from any directory, as train's does.
    args.run, args.unlabeled, args.out = (str(Path(p).expanduser().absolute()) for p in (args.run, args.unlabeled,
                                                                                       args.out))
    ensure_writable_folder(args.out)
    command = ["selftrain", args.run, "--unlabeled", str(args.unlabeled), "--top-p", str(args.top_p), "--rounds",
               str(args.rounds), "--steps", str(args.steps), "--out", args.out]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with reporting(args, args.out, command) as messages:
        selftrain(args.run, args.unlabeled, args.out, top_p=args.top_p, rounds=args.rounds, steps=args.steps,
                  messages=messages, stop=stop, resume=args.resume)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from core.evaluate import evaluate_checkpoint
    from core.metrics.report import format_table, write_json

    if args.json is not None and args.json.is_dir():
        raise ZerolabelError(f"--json {args.json} is a folder; give a file name, e.g. {args.json / 'metrics.json'}")
    metrics = evaluate_checkpoint(
        resolve_checkpoint(args.run), args.data, split=args.split, setting=args.setting,
        calibration=args.calibration, limit=args.limit, unseen=unseen_flag(args.unseen),
    )
    print(format_table(metrics))
    if args.json:
        write_json(metrics, args.json)
        print(f"metrics written to {args.json}")
    return 0
