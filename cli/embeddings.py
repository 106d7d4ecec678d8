"""``zerolabel embeddings import|list`` and ``zerolabel embed``: the embedding commands of the CLI.

The top-level parser (:mod:`cli.main`) calls :func:`register`; each subcommand sets ``func(args) -> int``. Errors a user
can act on are raised as :class:`~core.errors.ZerolabelError` (the top-level ``main`` prints them, exit 2).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from core.embeddings.build import build_encoder, provider_names
from core.embeddings.store import META_FILE, default_store_dir
from core.embeddings.store_import import KINDS, import_vectors

PREVIEW = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``embeddings`` (``import``, ``list``) and ``embed`` to the top-level ``zerolabel`` parser.

    Example:
        >>> parser = argparse.ArgumentParser(prog="zerolabel")
        >>> register(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["embed", "--provider", "glove50", "cat"]).provider
        'glove50'
    """
    group = subparsers.add_parser("embeddings", help="import and list word-vector stores")
    commands = group.add_subparsers(dest="embeddings_command", metavar="COMMAND", required=True)

    imp = commands.add_parser(
        "import",
        help="convert a word-vector file once into the fast memory-mapped store (then use store:NAME)",
        description="Convert word2vec (.bin/.txt), fastText (.bin with subwords, or .vec) or GloVe (.txt) "
        "vectors into the store; later runs open them in milliseconds with --provider store:NAME.",
    )
    imp.add_argument("kind", choices=KINDS, help="format family of the file")
    imp.add_argument("path", type=Path, help="the vector file")
    imp.add_argument("--name", help="store name (default: the file name without extension)")
    imp.add_argument("--store", type=Path, help=f"store folder (default: {default_store_dir()})")
    imp.set_defaults(func=run_import)

    lst = commands.add_parser("list", help="list the imported vector stores")
    lst.add_argument("--store", type=Path, help=f"store folder (default: {default_store_dir()})")
    lst.set_defaults(func=run_list)

    embed = subparsers.add_parser(
        "embed",
        help="embed class names and print their vectors and cosine similarities",
        description=f"Providers: {', '.join(provider_names())}, or P1+P2 to concatenate.",
    )
    embed.add_argument("names", nargs="+", help='class names, e.g. "sea lion" tvmonitor')
    embed.add_argument("--provider", "-p", default="glove50", help="embedding provider spec (default glove50)")
    embed.add_argument("--store", type=Path, help="store folder for store:NAME (default: the user store)")
    embed.set_defaults(func=run_embed)


def run_import(args: argparse.Namespace) -> int:
    """``zerolabel embeddings import KIND PATH [--name N] [--store DIR]`` with a progress bar."""
    from tqdm import tqdm

    started = time.perf_counter()
    size = Path(args.path).expanduser().stat().st_size if Path(args.path).expanduser().is_file() else 0
    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc="reading", leave=False) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        store = import_vectors(args.kind, args.path, name=args.name, store_dir=args.store, progress=progress)
    meta = json.loads((store / META_FILE).read_text(encoding="utf-8"))
    extra = " with subword vectors" if meta.get("subwords") else ""
    spec = f"store:{store.name}" if args.store is None else f"store:{store}"
    print(
        f"imported {meta['count']:,} words x {meta['dim']}{extra} into {store} "
        f"in {time.perf_counter() - started:.1f} s; use --provider {spec}"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    """``zerolabel embeddings list``: name, kind, size and source of each store."""
    folder = Path(args.store).expanduser() if args.store else default_store_dir()
    stores = sorted(p for p in folder.glob("*") if (p / META_FILE).is_file()) if folder.is_dir() else []
    if not stores:
        print(f"no vector stores in {folder}; add one with `zerolabel embeddings import KIND FILE`")
        return 0
    for path in stores:
        try:
            meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
            sub = " +subwords" if meta.get("subwords") else ""
            print(f"{path.name:30s} {meta['kind']:14s} {meta['count']:>10,} x {meta['dim']:<4}{sub}  "
                  f"{meta['source']['path']}")
        except (OSError, ValueError, KeyError) as exc:
            print(f"{path.name:30s} unreadable meta.json ({exc}); import it again")
    return 0


def run_embed(args: argparse.Namespace) -> int:
    """``zerolabel embed --provider P NAME...``: dimension, norm and first values per name, then cosines."""
    encoder = build_encoder(args.provider, store_dir=args.store)
    vectors = encoder.embed(args.names)
    print(f"provider {encoder.source}  dim {encoder.dim}")
    width = max(len(n) for n in args.names)
    for name, vector in zip(args.names, vectors, strict=True):
        head = " ".join(f"{v:+.4f}" for v in vector[:PREVIEW])
        print(f"{name:<{width}}  dim {vector.shape[0]}  norm {np.linalg.norm(vector):.4f}  [{head} ...]")
    print("\ncosine similarity")
    cosines = vectors @ vectors.T
    print(" " * width + "".join(f"  {i:>6}" for i in range(len(args.names))))
    for i, (name, row) in enumerate(zip(args.names, cosines, strict=True)):
        print(f"{name:<{width}}" + "".join(f"  {c:+.3f}" for c in row) + f"   ({i})")
    return 0
