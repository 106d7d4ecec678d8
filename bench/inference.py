"""Inference benchmarks: every ratio comes from variants timed interleaved (A, B, C, A, B, C, ...) in one run,
as medians, so load on the shared machine hits all of them alike.

1. Full pass, class edit and the model alone, C = 1, 5, 20 classes, RN and ZS3Net, at 320x320 and at photo sizes
   (1920x1080, 4000x3000). "Model only" is encoder + scorer at the working resolution with no post-processing
   (the ceiling); "full" is ``Predictor.predict`` on an image not encoded yet; "edit" is a class edit (encoding
   and the other classes' scores cached, one class re-scored, then the labels); "former" is the model plus the
   former post-processing (every class upsampled to full resolution, sigmoid/softmax, top-2 partition).
2. ONNX Runtime (CPU) vs torch eager, same model and input (encode + score 5 classes).
3. The encoder's achieved GFLOP/s vs this machine's measured float32 GEMM peak (torch.matmul), and ONNX Runtime
   intra-op thread counts measured against each other (core.inference.runtime.default_threads).
4. Batch pre-labelling: ``zerolabel predict`` (decode + predict + write, heatmaps off) vs the bare model loop on
   the same JPEGs at 1024x768, alternated.

Models: the trained demo model (RN on shapes, 96 px), and EfficientNet-Lite0 (ImageNet weights) backbones with
untrained heads at 320 px. Post-processing time depends on how many low-resolution cells hold a class boundary:
trained models give regions, untrained heads give noise-like label maps (the worst case). The image is a sample
picture from resources/samples, resized to each size.

Usage:
    python bench/inference.py [--repeats 7] [--sizes 320x320,1920x1080,4000x3000] [--images 24]
Writes bench/results/inference.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from core.embeddings import build_encoder
from core.inference.export import export_onnx
from core.inference.runtime import Predictor, sample_images_folder
from core.models import ModelConfig, build_model, save_checkpoint

RESULTS = Path(__file__).resolve().parent / "results" / "inference.md"
NAMES = [f"{c} {s}" for c in ("red", "green", "blue", "yellow", "purple") for s in
         ("circle", "square", "triangle", "star")]


def interleaved(variants: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each variant, timed in turn (order rotated every round) after one warm-up each.

    A variant is a function, or ``(setup, function)`` with an untimed setup run before each timing.
    """
    pairs = {k: v if isinstance(v, tuple) else (None, v) for k, v in variants.items()}
    times: dict[str, list[float]] = {k: [] for k in pairs}
    keys = list(pairs)
    for r in range(repeats + 1):
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            setup, fn = pairs[k]
            if setup is not None:
                setup()
            t = time.perf_counter()
            fn()
            if r:  # round 0 warms up
                times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def make_model(method: str, size: int, work: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model(ModelConfig(method, "effnet-lite0", 50, pretrained=True, image_size=size)).eval()
    if hasattr(model, "set_seen_classes"):
        model.set_seen_classes(NAMES, torch.from_numpy(build_encoder("glove50").embed(NAMES)))
    ckpt = work / f"{method}.pt"
    save_checkpoint(ckpt, model, embedding_source="glove50", split={"seen": NAMES, "unseen": []})
    export_onnx(ckpt, work / f"{method}-onnx")
    return work / f"{method}-onnx", model


def photo(width: int, height: int) -> np.ndarray:
    from core.io.image import read_image

    first = sorted((sample_images_folder() / "JPEGImages").iterdir())[0]
    return cv2.resize(read_image(first), (width, height), interpolation=cv2.INTER_CUBIC)


def former_postprocess(model, logits: np.ndarray, background, size: tuple[int, int]) -> None:
    """The post-processing before this change: every class at full resolution (kept here as the baseline)."""
    h, w = size

    def up(maps):
        out = [cv2.resize(np.ascontiguousarray(maps[i:i + 128].transpose(1, 2, 0)), (w, h)) for i in
               range(0, len(maps), 128)]
        return np.concatenate([o.reshape(h, w, -1).transpose(2, 0, 1) for o in out])

    u = up(logits)
    if background is not None:
        s = np.concatenate([up(background), u])
        s = np.exp(s - s.max(0, keepdims=True))
        probs = s / s.sum(0, keepdims=True)
    else:
        p = 1 / (1 + np.exp(-u))
        probs = np.concatenate([(p.max(0, keepdims=True) < 0.5).astype(np.float32), p])
    np.partition(probs if len(probs) > 1 else np.concatenate([probs, probs * 0]), len(probs) - 2, axis=0)
    probs.argmax(0)


def latency_rows(method: str, folder: Path, image: np.ndarray, repeats: int, former: bool) -> list[str]:
    p = Predictor(folder, device="cpu")
    matrices = {c: p.text.embed(NAMES[:c]) for c in (1, 5, 20)}
    size = image.shape[:2]

    def model_only(c: int):
        p.model.logits(p.model.encode(image), NAMES[:c], matrices[c])

    def uncached():
        p._features.clear()
        p._logits.clear()

    def edited(c: int):
        p.predict(image, NAMES[:c], key="photo")  # encoding and every class cached ...
        with p._lock:
            for scores in p._logits.values():
                scores.pop(NAMES[c - 1], None)  # ... but the edited one

    def predict(c: int):
        p.predict(image, NAMES[:c], key="photo")

    def old(c: int):
        logits, background = p.model.logits(p.model.encode(image), NAMES[:c], matrices[c])
        former_postprocess(p.model, logits, background, size)

    variants = {}
    for c in (1, 5, 20):
        variants[f"model{c}"] = lambda c=c: model_only(c)
        variants[f"full{c}"] = (uncached, lambda c=c: predict(c))
        variants[f"edit{c}"] = (lambda c=c: edited(c), lambda c=c: predict(c))
        if former and (c <= 5 or image.size < 8e6 * 3):
            variants[f"old{c}"] = lambda c=c: old(c)
    t = interleaved(variants, repeats)
    rows = []
    for c in (1, 5, 20):
        e = t[f"edit{c}"]
        o = f"{t[f'old{c}'] * 1e3:.0f} ({t[f'old{c}'] / t[f'full{c}']:.1f}x)" if f"old{c}" in t else "not run"
        rows.append(f"| {method} | {size[1]}x{size[0]} | {c} | {t[f'model{c}'] * 1e3:.1f} | {t[f'full{c}'] * 1e3:.1f} "
                    f"| {t[f'full{c}'] / t[f'model{c}']:.2f}x | {e * 1e3:.1f} | {e / t[f'full{c}']:.1%} | "
                    f"{t[f'full{c}'] / t['full1']:.2f}x | {o} |")
    return rows


def ort_vs_torch(folders: dict, models: dict, size: int, repeats: int) -> list[str]:
    emb = torch.from_numpy(build_encoder("glove50").embed(NAMES[:5]))
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((1, 3, size, size)).astype(np.float32))
    rows = []
    for method, model in models.items():
        p = Predictor(folders[method], device="cpu")

        def eager(m=model):
            with torch.no_grad():
                m.score(m.encode(x), emb)

        def ort(p=p):
            p.model.logits(p.model.encoder.run(None, {"image": x.numpy()}), NAMES[:5], emb.numpy())

        t = interleaved({"torch": eager, "ort": ort}, repeats)
        rows.append(f"| {method} | {t['torch'] * 1e3:.1f} | {t['ort'] * 1e3:.1f} | {t['torch'] / t['ort']:.2f}x |")
    return rows


def efficiency(folder: Path, model, size: int, repeats: int) -> tuple[list[str], list[str]]:
    from torch.utils.flop_counter import FlopCounterMode

    x = np.random.default_rng(1).standard_normal((1, 3, size, size)).astype(np.float32)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.encode(torch.from_numpy(x))
    flops = counter.get_total_flops()
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    threads = {n: Predictor(folder, device="cpu", threads=n) for n in (1, 2, 0)}
    variants = {f"ort{n}": (lambda p=p: p.model.encoder.run(None, {"image": x})) for n, p in threads.items()}
    t = interleaved({**variants, "gemm": lambda: a @ b}, repeats)
    peak = 2 * 2048**3 / t["gemm"]
    best = min(variants, key=t.get)
    enc = t[best]
    rows = [f"| {flops / 1e9:.2f} | {enc * 1e3:.1f} | {flops / enc / 1e9:.1f} | {peak / 1e9:.1f} | "
            f"{flops / enc / peak:.1%} |"]
    trows = [f"| {n if n else 'all cores (0)'} | {t[f'ort{n}'] * 1e3:.1f} | {t['ort1'] / t[f'ort{n}']:.2f}x |"
             for n in threads]
    return rows, trows


def batch(folder: Path, work: Path, count: int, rounds: int) -> list[str]:
    from cli.main import main as cli_main
    from core.io.image import read_image

    images = work / "jpegs"
    images.mkdir(exist_ok=True)
    base = photo(1024, 768)
    rng = np.random.default_rng(2)
    for i in range(count):
        shifted = np.roll(base, int(rng.integers(0, 1024)), axis=1)
        cv2.imwrite(str(images / f"im{i:03d}.jpg"), shifted[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    p = Predictor(folder, device="cpu")
    files = sorted(images.iterdir())
    matrix = p.text.embed(NAMES[:5])

    def bare():
        for f in files:
            p.model.logits(p.model.encode(read_image(f)), NAMES[:5], matrix)

    run = iter(range(10**6))

    def predict():
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            cli_main(["predict", str(folder), str(images), "--classes", ",".join(NAMES[:5]), "--out",
                      str(work / f"predicted{next(run)}"), "--device", "cpu"])

    t = interleaved({"bare": bare, "predict": predict}, rounds)
    return [f"| {count} | {count / t['bare']:.1f} | {count / t['predict']:.1f} | {t['bare'] / t['predict']:.2f} |"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=320, help="the models' working resolution")
    parser.add_argument("--sizes", default="320x320,1920x1080,4000x3000", help="image sizes WxH")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--no-former", action="store_true", help="skip the former post-processing baseline")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="zerolabel-bench-inf-"))
    cmd = " ".join(["python bench/inference.py", *(argv if argv is not None else sys.argv[1:])])
    out = [f"<!-- written by: {cmd} (torch threads: {torch.get_num_threads()}, "
           f"{time.strftime('%Y-%m-%d')}) -->"]
    folders, models = {}, {}
    for method in ("rn", "zs3net"):
        folders[method], models[method] = make_model(method, args.size, work)

    out += ["", f"**1. Full pass, class edit and model only** (ONNX Runtime CPU, effnet-lite0 at {args.size} px; "
            f"medians of {args.repeats}, interleaved)", "",
            "| model | image | C | model only (ms) | full (ms) | full / model | edit (ms) | edit / full | "
            "full(C) / full(1) | former post-processing (ms, x full) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    from core.inference.runtime import demo_model_folder

    section = {"rn, trained (demo model, 96 px)": demo_model_folder(),
               f"rn, untrained heads ({args.size} px)": folders["rn"],
               f"zs3net, untrained heads ({args.size} px)": folders["zs3net"]}
    for spec in args.sizes.split(","):
        w, h = (int(v) for v in spec.split("x"))
        image = photo(w, h)
        for label, folder in section.items():
            out += latency_rows(label, folder, image, args.repeats, not args.no_former)
            print("\n".join(out[-3:]), flush=True)

    out += ["", "**2. ONNX Runtime CPU vs torch eager** (encode + score 5 classes, same weights and input)", "",
            "| model | torch eager (ms) | ONNX Runtime (ms) | speed-up |", "|---|---:|---:|---:|"]
    out += ort_vs_torch(folders, models, args.size, args.repeats)

    eff, threads = efficiency(folders["rn"], models["rn"], args.size, args.repeats)
    out += ["", "**3. Encoder efficiency** (RN effnet-lite0 encoder, ONNX Runtime CPU, best thread setting)", "",
            "| encoder GFLOP | encoder time (ms) | achieved GFLOP/s | GEMM peak GFLOP/s (torch 2048^3 fp32) | "
            "fraction |", "|---:|---:|---:|---:|---:|", *eff,
            "", "ONNX Runtime intra-op threads (encoder, same input, interleaved):", "",
            "| intra-op threads | encoder (ms) | speed-up vs 1 |", "|---|---:|---:|", *threads]

    out += ["", "**4. Batch pre-labelling** (JPEG 1024x768, 5 classes, RN, heatmaps off; bare loop = decode + "
            "encoder + scorer, nothing written)", "",
            "| images | bare model loop (img/s) | `zerolabel predict` (img/s) | ratio (target >= 0.5) |",
            "|---:|---:|---:|---:|"]
    out += batch(folders["rn"], work, args.images, max(3, args.repeats // 2))
    out += ["", "**5. GPU**: not measured here (no GPU on this machine)."]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(out) + "\n", encoding="utf-8")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
