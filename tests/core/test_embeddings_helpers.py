"""Small real fixtures for the embedding tests, written in the exact on-disk formats (no mocks).

Plain functions (not fixtures) so that each test module decides the fixture scope; this module holds no tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

W2V_WORDS = ["cat", "dog", "bus", "sea", "lion", "dining", "table", "école", "naïve", "tv", "monitor"]
FT_VOCAB = [
    "sea", "lion", "bird", "albatross", "black", "footed", "cat", "dog", "table", "dining",
    "potted", "plant", "monitor", "tv", "naïve", "café", "bus", "wall", "concrete",
]
#: Out-of-vocabulary words that share character n-grams with the training corpus.
OOV_WORDS = ["albatrosses", "zebrafinch", "sealion", "lions", "cafés", "naïveté", "blackbird"]
#: Words none of whose n-grams occur in training: their subword rows are all zero, so they are unknown.
UNTRAINED_WORDS = ["x", "ü", "日本語"]


def write_word2vec(folder: Path, dim: int = 8, seed: int = 0):
    """A gensim KeyedVectors plus the same vectors as word2vec .bin and .txt (gensim's own writer)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=dim)
    rng = np.random.default_rng(seed)
    kv.add_vectors(W2V_WORDS, rng.normal(size=(len(W2V_WORDS), dim)).astype(np.float32))
    binary, text = folder / "tiny.bin", folder / "tiny.txt"
    kv.save_word2vec_format(str(binary), binary=True)
    kv.save_word2vec_format(str(text), binary=False)
    return kv, binary, text


def train_fasttext(folder: Path, seed: int = 1):
    """A real (tiny) fastText skipgram model trained on a generated corpus, saved as .bin, plus its .vec."""
    import fasttext

    rng = np.random.default_rng(seed)
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(FT_VOCAB, 12)) for _ in range(300)), encoding="utf-8")
    model = fasttext.train_unsupervised(
        str(corpus), dim=10, epoch=1, minCount=1, minn=3, maxn=6, bucket=2000, thread=1, verbose=0
    )
    binary = folder / "tiny-ft.bin"
    model.save_model(str(binary))
    words = model.get_words()
    lines = [f"{len(words)} {model.get_dimension()}"]
    lines += [w + " " + " ".join(f"{x:.6f}" for x in model.get_word_vector(w)) + " " for w in words]
    vec = folder / "tiny-ft.vec"
    vec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return model, binary, vec


CUB_CLASSES = ["001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross"]


def write_cub(folder: Path, dim: int = 6) -> tuple[Path, np.ndarray]:
    """A CUB_200_2011-shaped folder: classes.txt and attributes/class_attribute_labels_continuous.txt."""
    root = folder / "CUB_200_2011"
    (root / "attributes").mkdir(parents=True)
    (root / "classes.txt").write_text(
        "".join(f"{i} {name}\n" for i, name in enumerate(CUB_CLASSES, start=1)), encoding="utf-8"
    )
    table = np.random.default_rng(2).uniform(0, 100, size=(len(CUB_CLASSES), dim)).round(6)
    lines = [" ".join(f"{v:.6f}" for v in row) for row in table]
    (root / "attributes" / "class_attribute_labels_continuous.txt").write_text("\n".join(lines) + "\n")
    return root, table


def write_csv(folder: Path, header: bool = True) -> tuple[Path, np.ndarray]:
    """A ``name,attr1,...`` attribute CSV."""
    values = np.array([[1.0, 0.0, 2.0], [0.5, 0.5, 0.0], [0.0, 3.0, 1.0]])
    names = ["sea lion", "Dining_Table", "cat"]
    rows = (["name,attr1,attr2,attr3"] if header else []) + [
        ",".join([n, *(str(v) for v in row)]) for n, row in zip(names, values, strict=True)
    ]
    path = folder / ("attrs.csv" if header else "attrs-noheader.csv")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path, values


def unit(v: np.ndarray) -> np.ndarray:
    """``v / |v|`` in float64."""
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)
