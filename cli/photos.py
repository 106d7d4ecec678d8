"""``zerolabel selftrain-photos``: the photo model pseudo-labels a folder of photos and a segmenter is trained on
them (:func:`training.photo_selftrain.selftrain_photos`)."""

from __future__ import annotations

import argparse

from cli.progress import reporting, run_flags, select_device


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``selftrain-photos``."""
    p = subparsers.add_parser(
        "selftrain-photos",
        help="self-train a segmenter on a folder of unlabeled photos, pseudo-labelled by the photo model",
        description="The photo model labels every photo of FOLDER with --classes; the top-p %% most confident "
        "pixels per class (and of background) become pseudo-labels (OUT/pseudo, zerolabel's layout); a segmenter is "
        "trained on them (OUT/best.pt) and exported to OUT/onnx, a model folder the app and `predict` load.",
    )
    p.add_argument("folder", help="folder of photos (searched recursively)")
    p.add_argument("--classes", required=True, help='comma-separated class names, e.g. "cat,cup,motorcycle"')
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--model", help="model folder that makes the pseudo-labels (default: the built-in photo model)")
    p.add_argument("--top-p", type=float, default=25.0,
                   help="percent of confident pixels kept per class (default 25, ZS5Net's value on VOC)")
    p.add_argument("--strokes", help="a stroke-taught classes file (.npz) that labels the classes it knows")
    p.add_argument("--freeze-backbone", action="store_true", help="train only the layers above the backbone")
    p.add_argument("--method", default="spnet", choices=("spnet", "devise"))
    p.add_argument("--backbone", default="effnet-lite0", help="effnet-lite0 (ImageNet weights, default) or tiny")
    p.add_argument("--embedding", default="glove50", help="text encoder of the trained model (glove50, minilm)")
    for name, kind, default in (("steps", int, 300), ("image-size", int, 224), ("batch-size", int, 8),
                                ("lr", float, 3e-4)):
        p.add_argument(f"--{name}", type=kind, default=default, help=f"(default {default})")
    run_flags(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from training.photo_selftrain import selftrain_photos

    select_device(args.device)
    names = [n.strip() for n in args.classes.split(",") if n.strip()]
    args.export_onnx = True  # OUT/onnx is written before the run reports done (the app loads it then)
    command = ["selftrain-photos", str(args.folder), "--classes", args.classes, "--out", args.out]
    with reporting(args, args.out, command) as messages:
        selftrain_photos(args.folder, names, args.out, model=args.model, top_p=args.top_p, strokes=args.strokes,
                         method=args.method, backbone=args.backbone, freeze_backbone=args.freeze_backbone,
                         pretrained=args.backbone != "tiny", embedding=args.embedding, steps=args.steps,
                         image_size=args.image_size, batch_size=args.batch_size, lr=args.lr, export=False,
                         messages=messages)
    return 0
