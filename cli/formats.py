"""``zerolabel export`` and ``zerolabel import``: move a labelled dataset to and from CVAT, YOLO-seg, LabelMe, COCO.

``export DATASET --format cvat|yolo-seg|labelme|coco --out OUT``: DATASET is a folder in zerolabel's layout or a
project; OUT is a zip for cvat, a folder otherwise. ``import SRC --format ... --out DATASET``: SRC is the other
tool's export (a zip or folder; for coco also a JSON file); DATASET, a new folder, becomes a project in zerolabel's
layout with the imported labels marked done. See docs/formats.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.data.layout import IMAGES, LABELS
from core.errors import ZerolabelError
from core.formats import FORMATS, export_dataset, import_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export`` and ``import``."""
    ex = subparsers.add_parser("export", help="export a dataset or project as CVAT, YOLO-seg, LabelMe or COCO",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ex.add_argument("dataset", help="dataset folder (zerolabel layout) or project folder")
    ex.add_argument("--format", required=True, choices=tuple(FORMATS))
    ex.add_argument("--out", required=True, help="output: a .zip file for cvat, a folder for the others")
    ex.add_argument("--no-images", action="store_true", help="write annotations only (cvat, yolo-seg, coco)")
    ex.add_argument("--coco-masks", choices=("rle", "polygon"), default="rle",
                    help="coco: RLE masks (exact) or polygons (default rle)")
    ex.add_argument("--coco-per", choices=("region", "class"), default="region",
                    help="coco: one annotation per connected region (instances) or per class and image")
    ex.set_defaults(func=run_export)

    im = subparsers.add_parser("import", help="import a CVAT, YOLO-seg, LabelMe or COCO export as a project",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    im.add_argument("src", help="the other tool's export: zip, folder, or (coco) JSON file")
    im.add_argument("--format", required=True, choices=tuple(FORMATS))
    im.add_argument("--out", required=True, help="new dataset / project folder")
    im.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    options: dict = {}
    if args.format == "cvat":
        if out.suffix.lower() != ".zip":
            raise ZerolabelError(f"--out {out}: CVAT imports a zip; give a file name ending in .zip")
        options["images"] = not args.no_images
    elif args.format in ("yolo-seg", "coco"):
        options["images"] = not args.no_images
    if args.format == "coco":
        options.update(masks=args.coco_masks, per=args.coco_per)
    elif args.coco_masks != "rle" or args.coco_per != "region":
        raise ZerolabelError("--coco-masks and --coco-per apply to --format coco only")
    if args.format != "cvat" and out.exists() and not out.is_dir():
        raise ZerolabelError(f"--out {out}: is a file; {args.format} export writes a folder")
    result = export_dataset(args.dataset, args.format, out, **options)
    count = getattr(result, "images", result)
    print(f"exported {count} labelled images to {out} ({args.format})")
    ignored = getattr(result, "ignored_pixels", 0)
    if ignored:
        print(f"note: {ignored} ignore pixels were written as background (CVAT has no ignore label)")
    return 0


def run_import(args: argparse.Namespace) -> int:
    count = import_dataset(args.src, args.format, args.out)
    print(f"imported {count} labelled images into {args.out}; open it in zerolabel as a project")
    out = Path(args.out)
    images = {p.stem for p in (out / IMAGES).iterdir()} if (out / IMAGES).is_dir() else set()
    missing = [p.stem for p in (out / LABELS).glob("*.png") if p.stem not in images]
    if missing:
        print(f"note: {len(missing)} labelled images came without their image file (e.g. {missing[0]!r}); copy the "
              f"images into {out / IMAGES} under the same names (CVAT: export with 'Save images')")
    return 0
