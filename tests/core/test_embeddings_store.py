"""The memory-mapped vector store: hashing, import of every format, lookups, subwords, damage detection."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from test_embeddings_helpers import FT_VOCAB, OOV_WORDS, UNTRAINED_WORDS, W2V_WORDS, train_fasttext, write_word2vec

from core.embeddings import VectorStore, build_encoder, import_vectors
from core.embeddings.hashing import fnv1a64, fnv1a64_many, ft_hash, ft_ngrams
from core.errors import EmbeddingSourceError, UnknownWordError


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("vectors")
    kv, w2v_bin, w2v_txt = write_word2vec(folder)
    model, ft_bin, ft_vec = train_fasttext(folder)
    return dict(kv=kv, w2v_bin=w2v_bin, w2v_txt=w2v_txt, ft=model, ft_bin=ft_bin, ft_vec=ft_vec)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


# --- hashing -------------------------------------------------------------------------------------------------

WORDS = ["", "a", "foobar", "sea", "école", "naïve", "日本語", "x" * 70, "<w>", "\u00ff\u0100"]


def test_fnv1a64_known_values_and_vectorised_form() -> None:
    assert fnv1a64(b"") == 0xCBF29CE484222325
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a64(b"foobar") == 0x85944171F73967E8
    data = [w.encode() for w in WORDS]
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in data])])
    many = fnv1a64_many(np.frombuffer(b"".join(data), dtype=np.uint8), offsets)
    assert [int(h) for h in many] == [fnv1a64(d) for d in data]


def test_fasttext_hash_and_ngrams_match_gensim() -> None:
    from gensim.models.fasttext_inner import compute_ngrams_bytes, ft_hash_bytes

    for word in WORDS[1:]:
        for minn, maxn in [(3, 6), (1, 3), (2, 2), (3, 0)]:
            assert ft_ngrams(word, minn, maxn) == compute_ngrams_bytes(word, minn, maxn)
        for gram in ft_ngrams(word, 1, 6):
            assert ft_hash(gram) == ft_hash_bytes(gram)  # includes the signed-char quirk for bytes >= 0x80


# --- import and lookups ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["w2v_bin", "w2v_txt"])
def test_word2vec_store_equals_gensim(files: dict, store_dir: Path, which: str) -> None:
    path = import_vectors("word2vec", files[which], name="w2v", store_dir=store_dir)
    meta = json.loads((path / "meta.json").read_text())
    assert (meta["count"], meta["dim"], meta["subwords"]) == (len(W2V_WORDS), 8, None)
    store = VectorStore.open(path)
    kv = files["kv"]
    for word in W2V_WORDS:
        np.testing.assert_array_equal(store.vector(word), kv[word])
    assert store.vector("albatross") is None
    enc = build_encoder("store:w2v", store_dir=store_dir)
    assert enc.source == f"store:{path.resolve()}" and build_encoder(enc.source).dim == 8
    gensim_enc = build_encoder(f"word2vec:{files[which]}")
    np.testing.assert_allclose(enc.embed(["sea lion", "tvmonitor"]), gensim_enc.embed(["sea lion", "tvmonitor"]))
    with pytest.raises(UnknownWordError, match="'albatross'") as info:
        enc.embed(["sea albatross"])
    assert "fasttext" in str(info.value)


def test_store_in_default_folder_has_short_source(files: dict) -> None:
    import_vectors("word2vec", files["w2v_bin"])  # default name: the file stem, default folder: $ZEROLABEL_HOME
    assert build_encoder("store:tiny").source == "store:tiny"


def test_fasttext_store_reproduces_subword_vectors(files: dict, store_dir: Path) -> None:
    path = import_vectors("fasttext", files["ft_bin"], name="ft", store_dir=store_dir)
    store = VectorStore.open(path)
    model = files["ft"]
    assert store.subwords == {"minn": 3, "maxn": 6, "bucket": 2000, "nwords": len(model.get_words())}
    for word in [*FT_VOCAB, *OOV_WORDS, *UNTRAINED_WORDS, "</s>"]:
        np.testing.assert_allclose(store.vector(word), model.get_word_vector(word), rtol=1e-5, atol=1e-7)
    enc = build_encoder("store:ft", store_dir=store_dir)
    reference = build_encoder(f"fasttext:{files['ft_bin']}")
    names = ["zebrafinch", "sea lion", "albatrosses"]
    np.testing.assert_allclose(enc.embed(names), reference.embed(names), atol=1e-6)
    assert enc.missing(["sea x", *OOV_WORDS]) == reference.missing(["sea x", *OOV_WORDS]) == {"sea x": ["x"]}


def test_fasttext_vec_store_has_no_subwords(files: dict, store_dir: Path) -> None:
    import_vectors("fasttext", files["ft_vec"], name="ftvec", store_dir=store_dir)
    enc = build_encoder("store:ftvec", store_dir=store_dir)
    np.testing.assert_allclose(enc.embed(["sea"])[0], build_encoder(f"fasttext:{files['ft_vec']}").embed(["sea"])[0])
    with pytest.raises(UnknownWordError, match="zebrafinch"):
        enc.embed(["zebrafinch"])


def test_google_style_binary_duplicates_and_headerless_text(tmp_path: Path, store_dir: Path) -> None:
    from gensim.models import KeyedVectors

    rows = [("cat", [1, 2, 3]), ("dog", [4, 5, 6]), ("cat", [7, 8, 9]), ("école", [1, 0, 1])]
    google = tmp_path / "google.bin"  # word2vec.c writes a newline after every vector
    google.write_bytes(
        b"4 3\n" + b"".join(w.encode() + b" " + np.array(v, "<f4").tobytes() + b"\n" for w, v in rows)
    )
    kv = KeyedVectors.load_word2vec_format(str(google), binary=True)
    store = VectorStore.open(import_vectors("word2vec", google, name="google", store_dir=store_dir))
    for word in ("cat", "dog", "école"):
        np.testing.assert_array_equal(store.vector(word), kv[word])  # the first "cat" wins, as in gensim
    glove_txt = tmp_path / "glove.txt"  # no header; a GloVe-840B-style word with spaces inside
    glove_txt.write_text("cat 1 2 3\n. . . 0.5 0.5 0.5\ndog 4 5 6\n", encoding="utf-8")
    store = VectorStore.open(import_vectors("glove", glove_txt, name="glove", store_dir=store_dir))
    assert (store.count, store.dim) == (3, 3)
    np.testing.assert_array_equal(store.vector(". . ."), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(store.vector("dog"), [4, 5, 6])


def test_reimport_replaces_the_store(tmp_path: Path, store_dir: Path) -> None:
    for value in (1.0, 2.0):
        path = tmp_path / "v.txt"
        path.write_text(f"1 2\ncat {value} 1\n", encoding="utf-8")
        import_vectors("word2vec", path, name="v", store_dir=store_dir)
        np.testing.assert_array_equal(VectorStore.open(store_dir / "v").vector("cat"), [value, 1])
    assert sorted(os.listdir(store_dir)) == ["v"]


# --- damage: partial imports, corrupt files, bad input ----------------------------------------------------------


def test_truncated_source_leaves_no_store(files: dict, tmp_path: Path, store_dir: Path) -> None:
    broken = tmp_path / "broken.bin"
    broken.write_bytes(files["w2v_bin"].read_bytes()[:-20])
    with pytest.raises(EmbeddingSourceError, match="truncated"):
        import_vectors("word2vec", broken, name="broken", store_dir=store_dir)
    assert os.listdir(store_dir) == []  # not even a hidden staging folder is left
    with pytest.raises(EmbeddingSourceError, match="no vector store 'broken'"):
        build_encoder("store:broken", store_dir=store_dir)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "meta.json").unlink(), "meta.json is missing"),
        (lambda p: (p / "meta.json").write_text("{not json"), "meta.json is unreadable"),
        (lambda p: os.truncate(p / "vectors.npy", 200), r"vectors.npy is 200 bytes, expected"),
        (lambda p: (p / "hashes.npy").unlink(), "hashes.npy is missing"),
        (lambda p: (p / "words.bin").write_bytes(b"x"), "words.bin is 1 bytes"),
    ],
)
def test_damaged_store_is_refused_with_a_clear_error(files: dict, store_dir: Path, damage, message: str) -> None:
    path = import_vectors("fasttext", files["ft_bin"], name="ft", store_dir=store_dir)
    damage(path)
    with pytest.raises(EmbeddingSourceError, match=message) as info:
        build_encoder("store:ft", store_dir=store_dir)
    assert "embeddings import" in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize(
    ("kind", "file", "name", "message"),
    [
        ("word2vec", "vectors.bin.gz", None, "is compressed; run `gunzip"),
        ("bert", "v.txt", None, "unknown vector kind 'bert'"),
        ("word2vec", "v.txt", "../evil", "store name '../evil' is not allowed"),
        ("word2vec", "nothere.txt", None, "nothere.txt does not exist"),
        ("fasttext", "fake.bin", None, "must start with the fastText magic"),
    ],
)
def test_import_refuses_bad_input(tmp_path: Path, store_dir: Path, kind, file, name, message) -> None:
    for f in ("vectors.bin.gz", "v.txt", "fake.bin"):
        (tmp_path / f).write_text("1 2\ncat 1 2\n", encoding="utf-8")
    with pytest.raises(EmbeddingSourceError, match=message.replace("(", r"\(")):
        import_vectors(kind, tmp_path / file, name=name, store_dir=store_dir)
