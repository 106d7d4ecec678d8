"""Inference benchmarks, measured side by side in one run on this machine (CPU; GPU rows only where one is lent).

1. Class-name edit latency (encoder cached) / full-image latency, C = 1, 5, 20, RN and ZS3Net; the papers'
   per-class pipeline (C full passes) for the same C.
2. ONNX Runtime (CPU) vs torch eager, same model and input (encode + score 5 classes).
3. The encoder's achieved GFLOP/s vs this machine's measured float32 GEMM peak (torch.matmul).
4. Batch pre-labelling (`zerolabel predict`: decode + predict + write) images/s vs model-only images/s.

Models: EfficientNet-Lite0 (ImageNet weights) backbones, untrained heads (timing does not depend on training).

Usage:
    python bench/inference.py [--size 320] [--repeats 10]
Writes bench/results/inference.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from core.embeddings import build_encoder
from core.inference.export import export_onnx
from core.inference.runtime import Predictor
from core.models import ModelConfig, build_model, save_checkpoint

RESULTS = Path(__file__).resolve().parent / "results" / "inference.md"
NAMES = [f"{c} {s}" for c in ("red", "green", "blue", "yellow", "purple") for s in
         ("circle", "square", "triangle", "star")]


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def make_model(method: str, size: int, work: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model(ModelConfig(method, "effnet-lite0", 50, pretrained=True, image_size=size)).eval()
    if hasattr(model, "set_seen_classes"):
        model.set_seen_classes(NAMES, torch.from_numpy(build_encoder("glove50").embed(NAMES)))
    ckpt = work / f"{method}.pt"
    save_checkpoint(ckpt, model, embedding_source="glove50", split={"seen": NAMES, "unseen": []})
    export_onnx(ckpt, work / f"{method}-onnx")
    return work / f"{method}-onnx", model


def edit_latency(rows: list[str], method: str, folder: Path, image: np.ndarray, repeats: int) -> None:
    predictor = Predictor(folder, device="cpu")

    def full(c: int) -> None:
        predictor._features.clear()
        predictor.predict(image, NAMES[:c])

    full1 = median_time(lambda: full(1), repeats)
    for c in (1, 5, 20):
        f = median_time(lambda c=c: full(c), repeats)
        predictor.predict(image, NAMES[:c])
        e = median_time(lambda c=c: predictor.predict(image, NAMES[:c]), repeats)
        rows.append(f"| {method} | {c} | {f * 1e3:.1f} | {e * 1e3:.1f} | {e / f:.1%} | {f / full1:.2f}x | "
                    f"{c * full1 * 1e3:.1f} ({c * full1 / f:.1f}x ours) |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--images", type=int, default=48)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="zerolabel-bench-inf-"))
    image = np.random.default_rng(0).integers(0, 255, (args.size, args.size, 3), dtype=np.uint8)
    out = [f"<!-- written by: python bench/inference.py --size {args.size} --repeats {args.repeats} "
           f"(CPU threads: {torch.get_num_threads()}) -->"]

    # 1. edit vs full latency
    out += ["", f"**1. Class-name edit vs full pass** ({args.size}x{args.size}, ONNX Runtime CPU, effnet-lite0)", "",
            "| model | C | full pass (ms) | edit, encoder cached (ms) | edit / full | full(C) / full(1) | "
            "papers' per-class pipeline, C full passes (ms) |", "|---|---:|---:|---:|---:|---:|---:|"]
    folders = {}
    for method in ("rn", "zs3net"):
        folders[method], _ = make_model(method, args.size, work)
        edit_latency(out, method, folders[method], image, args.repeats)

    # 2. ORT vs torch eager
    out += ["", "**2. ONNX Runtime CPU vs torch eager** (encode + score 5 classes, same weights and input)", "",
            "| model | torch eager (ms) | ONNX Runtime (ms) | speed-up |", "|---|---:|---:|---:|"]
    emb = torch.from_numpy(build_encoder("glove50").embed(NAMES[:5]))
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((1, 3, args.size, args.size)).astype(np.float32))
    for method in ("rn", "zs3net"):
        _, model = make_model(method, args.size, work)
        predictor = Predictor(folders[method], device="cpu")
        with torch.no_grad():
            t_torch = median_time(lambda m=model: m.score(m.encode(x), emb), args.repeats)
        xs = x.numpy()

        def ort_pass(p=predictor, xs=xs):
            feats = p.model.encoder.run(None, {"image": xs})
            p.model.logits(feats, NAMES[:5], emb.numpy())

        t_ort = median_time(ort_pass, args.repeats)
        out.append(f"| {method} | {t_torch * 1e3:.1f} | {t_ort * 1e3:.1f} | {t_torch / t_ort:.2f}x |")

    # 3. achieved GFLOP/s vs GEMM peak
    from torch.utils.flop_counter import FlopCounterMode

    _, model = make_model("rn", args.size, work)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.encode(x)
    flops = counter.get_total_flops()
    predictor = Predictor(folders["rn"], device="cpu")
    t_enc = median_time(lambda: predictor.model.encoder.run(None, {"image": x.numpy()}), args.repeats)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    t_mm = median_time(lambda: a @ b, args.repeats)
    peak = 2 * 2048**3 / t_mm
    out += ["", "**3. Encoder efficiency** (RN effnet-lite0 encoder, ONNX Runtime CPU)", "",
            "| encoder GFLOP | encoder time (ms) | achieved GFLOP/s | GEMM peak GFLOP/s (torch 2048^3 fp32) | "
            "fraction |", "|---:|---:|---:|---:|---:|",
            f"| {flops / 1e9:.2f} | {t_enc * 1e3:.1f} | {flops / t_enc / 1e9:.1f} | {peak / 1e9:.1f} | "
            f"{flops / t_enc / peak:.1%} |"]

    # 4. batch pre-labelling vs model only
    from core.cli import main as cli_main
    from core.io.image import write_image

    folder = work / "images"
    rng = np.random.default_rng(2)
    arrays = [rng.integers(0, 255, (args.size, args.size, 3), dtype=np.uint8) for _ in range(args.images)]
    for i, arr in enumerate(arrays):
        write_image(folder / f"im{i:03d}.png", arr)
    predictor = Predictor(folders["rn"], device="cpu")
    t = time.perf_counter()
    for arr in arrays:
        predictor._features.clear()
        predictor.predict(arr, NAMES[:5])
    model_only = args.images / (time.perf_counter() - t)
    t = time.perf_counter()
    cli_main(["predict", str(folders["rn"]), str(folder), "--classes", ",".join(NAMES[:5]), "--out",
              str(work / "predicted"), "--device", "cpu"])
    batch = args.images / (time.perf_counter() - t)
    out += ["", f"**4. Batch pre-labelling** ({args.images} PNG images {args.size}x{args.size}, 5 classes, RN)", "",
            "| model only (img/s) | `zerolabel predict` incl. decode + write (img/s) | ratio |", "|---:|---:|---:|",
            f"| {model_only:.1f} | {batch:.1f} | {batch / model_only:.2f} |"]
    out += ["", "**5. GPU**: not measured: no GPU machine was lent to this task (device status: none)."]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(out) + "\n", encoding="utf-8")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
