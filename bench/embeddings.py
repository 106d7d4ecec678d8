"""Cold start of class-name embeddings: gensim's own loader vs the memory-mapped store, side by side in one run.

Writes a word2vec binary file of realistic size (default 1,000,000 words x 300, like GoogleNews' 3M x 300 cut
to a third), imports it once into the store, then times, in fresh subprocesses so nothing is cached in Python:

* gensim: ``KeyedVectors.load_word2vec_format(binary=True)`` and the first vector;
* store: ``build_encoder("store:NAME").embed(["cat"])`` (open + first vector).

Each cold start runs ``--repeats`` times, alternating, and the median is reported. The OS page cache is warm for
both (the file was just written), which favours gensim: it still has to parse and copy every vector.

Usage:
    python bench/embeddings.py --rows 1000000 --dim 300 [--keep DIR]
Writes bench/results/embeddings.md and prints the same table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "embeddings.md"

GENSIM_SNIPPET = """
import sys, time
t = time.perf_counter()
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=True)
v = kv["cat"]
print(time.perf_counter() - t)
"""

STORE_SNIPPET = """
import sys, time
t = time.perf_counter()
from core.embeddings import build_encoder
v = build_encoder("store:" + sys.argv[1]).embed(["cat"])
print(time.perf_counter() - t)
"""


def write_word2vec_bin(path: Path, rows: int, dim: int, seed: int = 0) -> None:
    """A word2vec binary file: header, then ``word<space><dim float32 LE>\\n`` per row; "cat" is row 0."""
    rng = np.random.default_rng(seed)
    chunk = 50_000
    with open(path, "wb") as fh:
        fh.write(f"{rows} {dim}\n".encode())
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            vectors = rng.standard_normal((n, dim), dtype=np.float32)
            parts = []
            for i in range(n):
                word = "cat" if start + i == 0 else f"w{start + i}"
                parts.append(word.encode() + b" " + vectors[i].tobytes() + b"\n")
            fh.write(b"".join(parts))


def cold(snippet: str, arg: str, env: dict) -> float:
    """Run ``snippet`` in a fresh interpreter and return the time it printed."""
    out = subprocess.run(
        [sys.executable, "-c", snippet, arg], check=True, capture_output=True, text=True, env=env
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="zerolabel-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"vectors_{args.rows}x{args.dim}.bin"
    if not source.exists():
        t = time.perf_counter()
        write_word2vec_bin(source, args.rows, args.dim)
        print(f"wrote {source} ({source.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s")

    env = {**os.environ, "ZEROLABEL_HOME": str(work / "home")}
    from core.embeddings.store_import import import_vectors

    os.environ["ZEROLABEL_HOME"] = env["ZEROLABEL_HOME"]
    t = time.perf_counter()
    import_vectors("word2vec", source, name="bench")
    import_s = time.perf_counter() - t
    print(f"one-time import: {import_s:.1f} s")

    gensim_s, store_s = [], []
    for _ in range(args.repeats):
        gensim_s.append(cold(GENSIM_SNIPPET, str(source), env))
        store_s.append(cold(STORE_SNIPPET, "bench", env))
    g, s = statistics.median(gensim_s), statistics.median(store_s)
    table = "\n".join(
        [
            f"| Cold start to first vector ({args.rows:,} x {args.dim} word2vec .bin) | seconds (median of "
            f"{args.repeats}) | ratio |",
            "|---|---:|---:|",
            f"| gensim `load_word2vec_format` | {g:.2f} | 1.0x |",
            f"| zerolabel store (`store:NAME`, memory-mapped) | {s:.3f} | {g / s:.0f}x faster |",
            f"| one-time `zerolabel embeddings import` | {import_s:.1f} | - |",
        ]
    )
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        f"<!-- written by: python bench/embeddings.py --rows {args.rows} --dim {args.dim} -->\n{table}\n",
        encoding="utf-8",
    )
    print(f"table written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
