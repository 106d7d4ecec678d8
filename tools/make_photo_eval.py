"""Rebuild ``resources/photo_eval``: real photos from PyPI wheels with hand-seeded masks (VOC layout).

Usage (wheels are read as zip files, nothing is installed)::

    pip download --no-deps scikit-image matplotlib -d /tmp/wheels
    python tools/make_photo_eval.py --wheels /tmp/wheels \
        --sklearn-images .venv/lib/python3.11/site-packages/sklearn/datasets/images
    python tools/make_photo_eval.py ... --overlays /tmp/overlays   # also render overlays to check the masks

Each photo is downscaled to at most 640 px on its long side (JPEG quality 90). Masks come from GrabCut, one class
at a time, initialised with hand-placed polygons (written below, placed by looking at each photo): ``loose`` is
where the class may be (probable foreground), ``sure`` is certainly the class, ``not`` is certainly not it; every
other class's ``sure`` polygons are also certainly not it. ``ignore`` polygons (mixed or ambiguous regions: lattice
towers against the sky, a held helmet, a hazy horizon) become 255, and so does a 3-px band on every border between
two labels. Pixels two classes both claim become 255 too.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

CLASSES = ["background", "cat", "cup", "person", "motorcycle", "rocket", "building", "sky", "tree", "water",
           "flower"]
MAX_SIDE = 640
BAND = 1  # dilation radius of the border: 1 px either side of a boundary = a 3-px band

#: id -> (source, member or file, {class: {"loose": [...], "sure": [...], "not": [...]}}, ignore polygons)
#: Polygons are lists of (x, y) in the downscaled image (<= 640 px long side).
SEEDS: dict[str, dict] = {
    "chelsea": {
        "source": ("scikit_image", "skimage/data/chelsea.png"),
        "classes": {"cat": {
            "loose": [[(0, 0), (451, 0), (451, 300), (0, 300)]],
            "sure": [[(60, 40), (340, 20), (355, 120), (340, 290), (40, 290), (40, 130)]],
            "not": [[(0, 0), (32, 0), (26, 60), (18, 115), (0, 125)], [(420, 110), (451, 110), (451, 300),
                    (420, 300)], [(435, 0), (451, 0), (451, 110), (435, 110)]],
        }},
        "ignore": [[(340, 200), (380, 200), (380, 300), (330, 300)]],  # white fur against a white blur
    },
    "coffee": {
        "source": ("scikit_image", "skimage/data/coffee.png"),
        "classes": {"cup": {
            "loose": [[(170, 60), (185, 25), (240, 10), (330, 10), (400, 28), (418, 80), (410, 150), (176, 150)]],
            "sure": [[(215, 100), (375, 100), (375, 140), (215, 140)]],
            # the red body and handle against the red saucer: drawn by hand (GrabCut cannot tell them apart)
            "fill": [[(176, 150), (178, 190), (188, 222), (205, 245), (230, 262), (265, 272), (300, 272),
                      (330, 262), (355, 245), (380, 222), (397, 195), (406, 150)],
                     [(197, 235), (205, 228), (240, 228), (255, 250), (255, 300), (240, 308), (205, 305),
                      (196, 290)]],
            "cut": [[(345, 236), (385, 215), (420, 75), (410, 68), (375, 208), (335, 230)],
                    [(330, 262), (345, 248), (370, 243), (395, 252), (405, 280), (398, 312), (370, 324),
                     (342, 315), (330, 290)]],
            "not": [[(0, 0), (160, 0), (160, 400), (0, 400)], [(440, 0), (600, 0), (600, 400), (440, 400)],
                    [(160, 330), (440, 330), (440, 400), (160, 400)]],
        }},
        "ignore": [],
    },
    "astronaut": {
        "source": ("scikit_image", "skimage/data/astronaut.png"),
        "classes": {"person": {
            "loose": [[(150, 40), (200, 8), (270, 12), (305, 60), (300, 150), (330, 200), (352, 290),
                       (372, 345), (290, 380), (275, 512), (12, 512), (18, 320), (60, 250), (110, 205),
                       (130, 160), (155, 120)]],
            "sure": [[(185, 60), (265, 60), (265, 140), (185, 140)], [(60, 300), (260, 300), (250, 500),
                                                                       (60, 500)], [(140, 180), (290, 180),
                                                                                     (300, 260), (130, 260)]],
            "not": [[(0, 0), (40, 0), (40, 250), (0, 250)], [(320, 0), (350, 0), (350, 140), (320, 140)],
                    [(100, 0), (150, 0), (145, 30), (100, 60)]],
        }},
        "ignore": [[(350, 0), (480, 0), (480, 285), (350, 285)],  # the shuttle model: a rocket? left out
                   [(285, 350), (330, 340), (400, 338), (470, 360), (512, 400), (512, 512), (275, 512)]],  # helmet
    },
    "motorcycle": {
        "source": ("scikit_image", "skimage/data/motorcycle_left.png"),
        "classes": {"motorcycle": {
            "loose": [[(60, 170), (85, 160), (120, 136), (150, 132), (280, 138), (300, 125), (400, 116),
                       (430, 95), (440, 72), (478, 80), (505, 100),
                       (512, 200), (562, 238), (592, 300), (590, 382), (540, 398), (488, 372), (440, 300),
                       (350, 322), (300, 332), (292, 378), (278, 378), (262, 332), (170, 352), (118, 334),
                       (98, 290), (103, 230), (72, 196)]],
            "sure": [[(300, 150), (400, 150), (400, 190), (300, 190)], [(150, 142), (280, 142), (280, 172),
                                                                         (150, 172)],
                     [(305, 225), (380, 225), (380, 295), (305, 295)], [(440, 115), (480, 115), (480, 145),
                                                                        (440, 145)],
                     [(572, 290), (582, 290), (582, 345), (572, 345)], [(540, 366), (570, 350), (576, 362),
                                                                        (548, 380)]],  # the front tyre
            "not": [[(0, 350), (100, 350), (100, 432), (0, 432)], [(200, 385), (450, 385), (450, 432),
                                                                    (200, 432)],
                    [(150, 0), (250, 0), (250, 90), (150, 90)], [(525, 30), (600, 30), (600, 90), (525, 90)],
                    [(120, 95), (290, 95), (290, 126), (120, 126)], [(488, 150), (530, 150), (530, 215),
                                                                     (512, 215)],
                    [(600, 100), (640, 100), (640, 432), (600, 432)]],
        }},
        "ignore": [[(75, 160), (135, 160), (135, 200), (75, 200)]],  # tail light and fender against the bench
    },
    "rocket": {
        "source": ("scikit_image", "skimage/data/rocket.jpg"),
        "classes": {
            "rocket": {
                "loose": [[(310, 140), (322, 122), (335, 140), (342, 165), (342, 362), (302, 362), (302, 165)]],
                "sure": [[(318, 135), (326, 135), (328, 150), (332, 340), (312, 340), (316, 150)]],
            },
            "sky": {
                "loose": [[(0, 0), (640, 0), (640, 362), (0, 362)]],
                "sure": [[(100, 0), (540, 0), (540, 120), (100, 120)], [(220, 130), (290, 130), (290, 340),
                                                                          (220, 340)],
                         [(350, 130), (430, 130), (430, 340), (350, 340)], [(475, 130), (540, 130), (540, 340),
                                                                            (475, 340)],
                         [(100, 130), (170, 130), (170, 330), (100, 330)]],
            },
        },
        # lattice towers against the sky, and the lit pad and tree line below the horizon
        "ignore": [[(0, 0), (95, 0), (95, 427), (0, 427)], [(552, 0), (640, 0), (640, 427), (552, 427)],
                   [(178, 115), (212, 115), (212, 427), (178, 427)], [(436, 118), (468, 118), (468, 427),
                                                                      (436, 427)],
                   [(0, 342), (640, 342), (640, 427), (0, 427)]],
    },
    "china": {
        "source": ("sklearn", "china.jpg"),
        "classes": {
            "building": {
                "loose": [[(195, 22), (215, 22), (222, 70), (300, 105), (325, 130), (300, 150), (335, 175),
                           (325, 190), (318, 240), (352, 258), (348, 300), (375, 335), (350, 360), (300, 395),
                           (205, 392), (80, 350), (55, 280), (70, 250), (88, 175), (90, 115), (185, 70)]],
                "sure": [[(120, 150), (290, 150), (290, 240), (120, 240)], [(100, 270), (320, 270), (320, 340),
                                                                              (100, 340)],
                         [(200, 35), (212, 35), (212, 90), (200, 90)]],
            },
            "sky": {
                "loose": [[(0, 0), (640, 0), (640, 205), (0, 205)]],
                "sure": [[(0, 0), (170, 0), (170, 60), (0, 60)], [(240, 0), (640, 0), (640, 60), (240, 60)],
                         [(330, 60), (560, 60), (560, 190), (330, 190)], [(0, 60), (80, 60), (80, 140),
                                                                          (0, 140)]],
            },
            "water": {
                "loose": [[(20, 222), (560, 222), (560, 300), (470, 290), (400, 330), (360, 330), (20, 310)]],
                "sure": [[(360, 250), (540, 250), (540, 280), (360, 280)], [(20, 240), (60, 240), (60, 290),
                                                                              (20, 290)]],
            },
            "tree": {
                "loose": [[(0, 140), (60, 150), (75, 230), (40, 290), (60, 330), (200, 340), (200, 427),
                           (0, 427)],
                          [(300, 290), (420, 290), (480, 270), (545, 250), (550, 140), (640, 130), (640, 427),
                           (300, 427)]],
                "sure": [[(0, 380), (180, 380), (180, 427), (0, 427)], [(400, 340), (640, 340), (640, 427),
                                                                          (400, 427)],
                         [(590, 180), (640, 180), (640, 340), (590, 340)]],
            },
        },
        "ignore": [[(0, 200), (560, 200), (560, 236), (0, 236)]],  # hazy far shore and town on the horizon
    },
    "flower": {
        "source": ("sklearn", "flower.jpg"),
        "classes": {"flower": {
            "loose": [[(160, 100), (460, 100), (460, 370), (160, 370)], [(280, 370), (450, 370), (450, 427),
                                                                          (280, 427)]],
            "sure": [[(250, 150), (370, 150), (370, 300), (250, 300)], [(330, 395), (400, 395), (400, 427),
                                                                          (330, 427)]],
        }},
        "ignore": [[(560, 385), (640, 385), (640, 427), (560, 427)]],  # a blurred flower at the corner
    },
    "grace_hopper": {
        "source": ("matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg"),
        "classes": {"person": {
            "loose": [[(172, 60), (230, 22), (300, 22), (358, 60), (378, 130), (352, 205), (335, 290),
                       (420, 330), (480, 378), (512, 420), (512, 600), (0, 600), (5, 480), (28, 400), (108, 338),
                       (168, 300), (158, 200), (148, 150)]],
            "sure": [[(200, 60), (330, 60), (330, 280), (200, 280)], [(60, 420), (480, 420), (480, 600),
                                                                        (60, 600)]],
            "not": [[(0, 0), (120, 0), (120, 300), (0, 300)], [(400, 0), (512, 0), (512, 300), (400, 300)]],
        }},
        "ignore": [],
    },
    "camera": {
        "source": ("scikit_image", "skimage/data/camera.png"),
        "classes": {
            "person": {
                "loose": [[(0, 228), (60, 168), (120, 108), (160, 72), (210, 62), (262, 88), (272, 130),
                           (252, 190), (300, 200), (322, 172), (334, 242), (290, 252), (250, 272), (200, 282),
                           (152, 332), (152, 512), (0, 512)]],
                "sure": [[(170, 100), (240, 100), (240, 180), (170, 180)], [(20, 300), (130, 300), (130, 500),
                                                                              (20, 500)]],
                "not": [[(255, 140), (318, 140), (318, 188), (255, 188)]],
            },
            "sky": {
                "loose": [[(0, 0), (512, 0), (512, 200), (0, 200)]],
                "sure": [[(0, 0), (140, 0), (140, 60), (0, 60)], [(280, 0), (512, 0), (512, 100), (280, 100)],
                         [(0, 60), (60, 60), (60, 150), (0, 150)]],
            },
        },
        # the town on the horizon, the camera and the top of the tripod
        "ignore": [[(255, 150), (512, 150), (512, 238), (255, 238)], [(0, 165), (75, 165), (10, 238), (0, 238)]],
    },
}


def read_source(source: tuple[str, str], wheels: Path, sklearn_images: Path) -> np.ndarray:
    """RGB uint8 of one photo, read from a wheel (zip) or from scikit-learn's image folder."""
    kind, member = source
    if kind == "sklearn":
        img = Image.open(sklearn_images / member)
    else:
        found = sorted(wheels.glob(f"{kind}-*.whl"))
        if not found:
            raise SystemExit(f"{wheels}: no {kind} wheel; run: pip download --no-deps {kind} -d {wheels}")
        wheel = found[-1]
        with zipfile.ZipFile(wheel) as zf, zf.open(member) as fh:
            img = Image.open(fh)
            img.load()
    rgb = np.asarray(img.convert("RGB"))
    h, w = rgb.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    if scale < 1:
        rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return rgb


def _fill(shape: tuple[int, int], polygons: list) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for poly in polygons:
        cv2.fillPoly(mask, [np.array(poly, np.int32)], 1)
    return mask.astype(bool)


def class_mask(rgb: np.ndarray, seeds: dict, others_sure: np.ndarray) -> np.ndarray:
    """GrabCut of one class from its polygons (see the module docstring)."""
    shape = rgb.shape[:2]
    mask = np.full(shape, cv2.GC_BGD, np.uint8)
    mask[_fill(shape, seeds["loose"])] = cv2.GC_PR_FGD
    mask[_fill(shape, seeds.get("not", [])) | others_sure] = cv2.GC_BGD
    mask[_fill(shape, seeds["sure"])] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), mask, None, bgd, fgd, 8, cv2.GC_INIT_WITH_MASK)
    out = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    out = cv2.morphologyEx(out.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    return (out | _fill(shape, seeds.get("fill", []))) & ~_fill(shape, seeds.get("cut", []))


def make_labels(rgb: np.ndarray, spec: dict) -> np.ndarray:
    """The label map of one photo: GrabCut per class, conflicts and borders 255, ignore polygons 255."""
    shape = rgb.shape[:2]
    sure = {name: _fill(shape, s["sure"]) for name, s in spec["classes"].items()}
    labels = np.zeros(shape, np.uint8)
    claimed = np.zeros(shape, np.uint8)
    for name, seeds in spec["classes"].items():
        others = np.zeros(shape, bool)
        for other, m in sure.items():
            if other != name:
                others |= m
        m = class_mask(rgb, seeds, others)
        labels[m] = CLASSES.index(name)
        claimed += m
    border = np.zeros(shape, bool)
    kernel = np.ones((2 * BAND + 1, 2 * BAND + 1), np.uint8)
    for value in np.unique(labels):
        region = (labels == value).astype(np.uint8)
        border |= (cv2.dilate(region, kernel) != cv2.erode(region, kernel))
    border &= (cv2.dilate(labels, kernel) != cv2.erode(labels, kernel))  # only where two labels meet
    # hand-drawn outlines (fill, cut) are less exact than GrabCut's: a 7-px band where they separate labels
    outlines = np.zeros(shape, np.uint8)
    for seeds in spec["classes"].values():
        for poly in seeds.get("fill", []) + seeds.get("cut", []):
            cv2.polylines(outlines, [np.array(poly, np.int32)], True, 1, thickness=7)
    wide = cv2.dilate(labels, np.ones((7, 7), np.uint8)) != cv2.erode(labels, np.ones((7, 7), np.uint8))
    border |= wide & outlines.astype(bool)
    labels[border | (claimed > 1) | _fill(shape, spec.get("ignore", []))] = 255
    return labels


def overlay(rgb: np.ndarray, labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    colour = palette[labels]
    out = (0.55 * rgb + 0.45 * colour).astype(np.uint8)
    out[labels == 255] = (255, 255, 255)
    out[labels == 0] = (0.8 * rgb[labels == 0]).astype(np.uint8)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheels", type=Path, required=True, help="folder with the scikit-image and matplotlib wheels")
    ap.add_argument("--sklearn-images", type=Path, required=True, help="sklearn/datasets/images of an install")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "resources" / "photo_eval")
    ap.add_argument("--overlays", type=Path, help="also write overlay PNGs here, to look at")
    ap.add_argument("--only", help="comma-separated ids to (re)build")
    args = ap.parse_args()

    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from core.data.labelmap import LabelMap
    from core.data.layout import DatasetWriter
    from core.io.image import write_image

    labelmap = LabelMap.from_names(CLASSES)
    ids = [i for i in SEEDS if not args.only or i in args.only.split(",")]
    with DatasetWriter(args.out, labelmap, image_suffix=".jpg") as writer:
        for sample_id in SEEDS:
            spec = SEEDS[sample_id]
            if sample_id in ids:
                rgb = read_source(spec["source"], args.wheels, args.sklearn_images)
                labels = make_labels(rgb, spec)
                write_image(args.out / "JPEGImages" / f"{sample_id}.jpg", rgb, quality=90)
                writer.add(sample_id, None, labels, split="test")
                if args.overlays:
                    args.overlays.mkdir(parents=True, exist_ok=True)
                    Image.fromarray(overlay(rgb, labels, labelmap.palette())).save(args.overlays / f"{sample_id}.png")
                present = [CLASSES[v] for v in np.unique(labels) if v not in (0, 255)]
                print(f"{sample_id}: {rgb.shape[1]}x{rgb.shape[0]}, {', '.join(present)}, "
                      f"ignore {np.mean(labels == 255):.1%}")
            else:
                writer.splits.setdefault("test", []).append(sample_id)


if __name__ == "__main__":
    main()
