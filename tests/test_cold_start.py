"""What a cold `qa ask` skips or shares, checked to change nothing: the name words read
from a cache file instead of jieba.posseg, one tokenizer for the encoder and the reader
(truncation per call), the models opened in the background while the index loads."""
from __future__ import annotations

import pytest


def test_cached_name_words_are_jiebas_name_tags(tmp_path, monkeypatch):
    from qa.text import tokenize as T

    monkeypatch.setenv("ZHQA_CACHE", str(tmp_path))
    T.name_words.cache_clear()
    try:
        built = T.name_words()  # from jieba.posseg, then written to the cache
        (cached,) = (tmp_path / "jieba").glob("names-*.txt")
        T.name_words.cache_clear()
        assert T.name_words() == built == T._tagged_names()
        assert len(built) > 50_000 and {"石家庄", "清徐"} <= built
        cached.write_text("", encoding="utf-8")  # what the cache says is what is used: it is read, not rebuilt
        T.name_words.cache_clear()
        assert T.name_words() == {""}
        cached.unlink()
        T.name_words.cache_clear()
        assert T.is_name_like("石家庄") and not T.is_name_like("什么")
    finally:
        T.name_words.cache_clear()


def test_shared_tokenizer_truncates_per_call_as_the_library_would(encoder):
    from tokenizers import Tokenizer

    from embeddings.tokenizer import encode_truncated, shared_tokenizer

    path = encoder.folder / "tokenizer.json"
    own = Tokenizer.from_file(str(path))
    own.enable_truncation(encoder.max_seq_length)
    texts = ["query: 董健是谁？", "passage: " + "清徐县在哪里发现初筛阳性人员？" * 80, "", "Dong Jian, a police officer. " * 150]
    shared = shared_tokenizer(path)
    for mine, theirs in zip(encode_truncated(shared, texts, encoder.max_seq_length), own.encode_batch(texts)):
        assert (mine.ids, mine.offsets, mine.attention_mask) == (theirs.ids, theirs.offsets, theirs.attention_mask)
    assert shared.truncation is None and shared.padding is None  # the reader reads whole passages with it
    assert shared_tokenizer(path) is shared


def test_background_warm_up_loads_the_models_and_leaves_the_index_free(seeds_index_dir):
    import threading

    from qa.engine import QA
    from qa.settings import Settings

    qa = QA(Settings(index_dir=seeds_index_dir))
    qa.warm_up("hybrid", background=True)
    assert qa.data().passages  # the index loads meanwhile (the models hold locks of their own)
    answer = qa.ask("董健是谁？")
    assert answer.answered and qa._encoder is not None and qa._reader is not None
    assert not any(t.name == "zhqa-warm-up" and t.is_alive() for t in threading.enumerate())


def test_warm_up_failure_is_raised_where_the_model_is_used(seeds_index_dir, tmp_path):
    from qa.engine import QA
    from qa.errors import ZhqaError
    from qa.settings import Settings

    qa = QA(Settings(index_dir=seeds_index_dir, model=str(tmp_path / "no-such-model")))
    qa.warm_up("dense", background=True)
    with pytest.raises(ZhqaError, match="no-such-model"):
        qa.ask("董健是谁？", mode="dense")
    with pytest.raises(ZhqaError, match="no-such-model"):
        qa.warm_up("dense")


def test_check_question_refuses_what_make_query_refuses():
    from qa.errors import BadQuestion
    from qa.question.query import check_question, make_query

    for bad in ("", "   ", "？？", "问" * 2001, None):
        with pytest.raises(BadQuestion):
            check_question(bad)
        with pytest.raises(BadQuestion):
            make_query(bad)
    assert check_question("  董健是谁？ ") == make_query("  董健是谁？ ").text == "董健是谁？"


def test_stopwords_are_bm25s_lists():
    """A copy, so cutting a question imports no bm25s; if bm25s changes its lists, keep ours
    (they decide the index's terms) or change both and raise TERMS_VERSION."""
    from bm25s.stopwords import STOPWORDS_CHINESE, STOPWORDS_EN

    from qa.text.stopwords import STOPWORDS_CHINESE as ours_zh
    from qa.text.stopwords import STOPWORDS_EN as ours_en

    assert ours_zh == frozenset(STOPWORDS_CHINESE) and ours_en == frozenset(STOPWORDS_EN)


def test_saved_scores_equal_bm25s_scores(seeds_index_dir, seeds_qa, tmp_path):
    """The saved BM25 index scored with numpy alone gives bm25s's own scores, bit for bit."""
    import json

    import bm25s
    import numpy as np

    from qa.index.bm25 import Bm25Index, SavedScores
    from qa.question.query import make_query
    from tests.conftest import current_generation

    folder = current_generation(seeds_index_dir) / "bm25"
    loaded = Bm25Index.load(folder)
    assert isinstance(loaded._retriever, SavedScores)
    theirs = bm25s.BM25.load(str(folder / "bm25s"), show_progress=False)
    rows = [json.loads(line) for line in open("eval/seeds.jsonl", encoding="utf-8") if line.strip()]
    questions = [r["question"] for r in rows] + ["董健 董健 清徐县", "没有这个词的问题 zzz"]
    for question in questions:
        tokens = [t for t in make_query(question).tokens if loaded.knows(t)]
        if tokens:
            assert np.array_equal(loaded._retriever.get_scores(tokens), theirs.get_scores(tokens)), question
        assert np.array_equal(loaded.scores(list(make_query(question).tokens)),
                              seeds_qa.data().bm25.scores(list(make_query(question).tokens)))
    loaded.save(tmp_path / "again")  # written again (a new generation) as it was read
    again = Bm25Index.load(tmp_path / "again")
    assert np.array_equal(again._retriever.data, loaded._retriever.data) and again.aliases == loaded.aliases


def test_jieba_reads_its_cache_whole_and_gets_its_own_dictionary():
    """jieba's cache parsed in memory (qa.text.tokenize._WholeFileMarshal) is the dictionary
    jieba builds from dict.txt."""
    from qa.text.tokenize import quiet_jieba

    jb = quiet_jieba()
    freq, total = jb.dt.gen_pfdict(jb.dt.get_dict_file())
    assert jb.dt.initialized and jb.dt.FREQ == freq and jb.dt.total == total
    assert jb.lcut("清徐县是在哪里发现初筛阳性人员的") == ["清徐县", "是", "在", "哪里", "发现", "初筛", "阳性", "人员", "的"]
