"""The web chat's handlers (qa.web.handlers, uploads, feedback, login) called directly, as
plain functions, over the real seeds index: no Gradio, no browser. Each finding of issue 12
reached this way is here as a regression test; the same findings through the browser,
gradio_client and the raw queue API are in tests/robustness/test_web_integrity.py."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.answer.confidence import load_confidence
from qa.engine import QA
from qa.errors import BadQuestion, CorpusError, ZhqaError
from qa.evaluate.run import load_questions
from qa.settings import Settings
from qa.web import handlers
from qa.web.feedback import FeedbackError, FeedbackLog
from qa.web.login import LoginLimiter
from qa.web.uploads import UPLOADS, add_documents, remove_upload

PROJECT = Path(__file__).resolve().parent.parent
QINGXU = "清徐县是在哪里发现初筛阳性人员的？"
QINGXU_DOC = "002_55bd9ca71670d804.txt"
DONG_DOC = "004_62723c32f6056b4d.txt"
BLANKED_DOC = "001_4c3f5a124836c178.txt"
FORGED = "董健的妻子在瑞达社区担任保洁员，负责打扫楼道。"


def one_line(text: str) -> bool:
    return bool(text.strip()) and "\n" not in text.strip() and "Traceback" not in text


@pytest.fixture
def writable_qa(index_copy, encoder) -> QA:
    return QA(Settings(index_dir=index_copy), encoder=encoder)


def seed_answers(qa: QA) -> list[tuple]:
    """What the web chat answers the seed questions with: each snippet's article, span and text."""
    out = []
    for q in load_questions(PROJECT / "eval" / "seeds.jsonl"):
        answer = handlers.api_ask(qa, q.question)
        out.append((q.question, answer["answered"], [(s["doc_id"], s["start"], s["end"], s["text"]) for s in answer["snippets"]],
                    None if answer["span_shown"] else answer.get("confidence")))
    return out


# -- error labels -----------------------------------------------------------------------------
def test_every_named_error_has_its_own_label():
    import qa.errors

    kinds = [k for k in vars(qa.errors).values() if isinstance(k, type) and issubclass(k, ZhqaError) and k is not ZhqaError]
    kinds.append(FeedbackError)
    assert len(kinds) >= 8
    labels = {kind.label for kind in kinds}
    assert len(labels) == len(kinds) and ZhqaError.label not in labels
    assert handlers.error_text(BadQuestion("The question is empty.")) == "无法提问 Cannot ask：The question is empty."
    assert handlers.error_text(FeedbackError("x.")).startswith("反馈未保存")


# -- /ask: follow-ups and parameters ----------------------------------------------------------
def test_api_follow_up_is_answered_from_the_earlier_questions_article(seeds_qa):
    result = handlers.api_ask(seeds_qa, "他的妻子是做什么的？", "hybrid", 5, ["董健是谁？"])
    assert result["asked"] == "董健的妻子是做什么的？"
    assert result["answered"] and result["snippets"][0]["doc_id"] == DONG_DOC
    assert result == seeds_qa.ask("他的妻子是做什么的？", k=5, history=["董健是谁？"]).to_json()
    alone = handlers.api_ask(seeds_qa, "他的妻子是做什么的？")  # no history: nothing rewritten
    assert "asked" not in alone


@pytest.mark.parametrize("k", [5.7, 5.0, True, False, "5", None, 0, 51, -1, [5]])
def test_api_k_must_be_a_whole_number_in_range(seeds_qa, k):
    with pytest.raises(BadQuestion) as caught:
        handlers.api_ask(seeds_qa, QINGXU, "hybrid", k)
    assert one_line(str(caught.value)) and "1 to 50" in str(caught.value)


@pytest.mark.parametrize("history, expected", [
    ("董健是谁？", "list of the earlier questions"), ([1], "not text"), ({"a": 1}, "list of the earlier questions"),
    (["董健"] * 51, "at most the last 50"), (["问" * 2001], "2001 characters"),
])
def test_api_history_must_be_a_list_of_text(seeds_qa, history, expected):
    with pytest.raises(BadQuestion, match=expected) as caught:
        handlers.api_ask(seeds_qa, QINGXU, "hybrid", 5, history)
    assert one_line(str(caught.value))


def test_api_mode_must_be_a_mode(seeds_qa):
    for mode in ("fuzzy", 1, None, "\u202ehybrid"):
        with pytest.raises(BadQuestion, match="Unknown retrieval mode"):
            handlers.api_ask(seeds_qa, QINGXU, mode, 5)


@pytest.mark.parametrize("question", ["清徐\ud800县是在哪里发现初筛阳性人员的？", "\udcff\udcfe清徐县是在哪里发现初筛阳性人员的？",
                                      "清徐县是在哪里发现\u202e初筛阳性人员的？\u202c", "\u2066清徐县\u2069是在哪里\u200b发现初筛阳性人员的？"])
def test_lone_surrogates_and_bidi_overrides_are_not_unexpected(seeds_qa, question):
    result = handlers.api_ask(seeds_qa, question, "hybrid", 5, ["董健\ud800是谁？"])
    assert result["answered"] and result["snippets"][0]["doc_id"] == QINGXU_DOC
    json.dumps(result, ensure_ascii=False).encode("utf-8")  # well-formed: it can be sent
    assert not any(c in result["question"] for c in "\u202e\u202c\u2066\u2069\u200b")
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in result["question"])


# -- the chat ---------------------------------------------------------------------------------
def test_chat_follow_up_goes_through_the_library_and_says_how_it_was_understood(seeds_qa):
    session = handlers.Session()
    first = handlers.chat(seeds_qa, session, "董健是谁？", "hybrid", 5, [], message=1)
    assert "董健" in first.answer_html and "按上文理解为" not in first.answer_html
    second = handlers.chat(seeds_qa, session, "他的妻子是做什么的？", "hybrid", 5.0, [], message=3)  # the slider's 5.0
    assert "按上文理解为：<b>董健的妻子是做什么的？</b>" in second.answer_html
    assert "居委会主任" in second.answer_html and second.answer.snippets[0].citation.doc_id == DONG_DOC
    assert [t.question for t in session.turns] == ["董健是谁？", "他的妻子是做什么的？"]
    fresh = handlers.chat(seeds_qa, handlers.Session(), "他的妻子是做什么的？", "hybrid", 5, [], message=1)
    assert "按上文理解为" not in fresh.answer_html  # a new session forgets the conversation


def test_chat_refuses_bad_input_in_one_line(seeds_qa):
    session = handlers.Session()
    for question, k, mode, expected in [("", 5, "hybrid", "empty"), ("\u202e\u200b", 5, "hybrid", "empty"),
                                        (QINGXU, 21, "hybrid", "1 to 20"), (QINGXU, 2.5, "hybrid", "whole number"),
                                        (QINGXU, 5, "fuzzy", "Unknown retrieval mode")]:
        with pytest.raises(ZhqaError, match=expected) as caught:
            handlers.chat(seeds_qa, session, question, mode, k, [], message=1)
        assert one_line(handlers.error_text(caught.value))
    assert session.turns == []


def test_open_citation_and_the_corpus(seeds_qa):
    where, page = handlers.open_citation(seeds_qa, f"#zq/corpus/{QINGXU_DOC}/10/20")
    assert where == "corpus" and 'mark id="zq-hl"' in page
    for junk in (None, 5, "#zq/nowhere", "javascript:alert(1)", {"href": 1}):
        assert handlers.open_citation(seeds_qa, junk) is None
    view = handlers.corpus_view(seeds_qa)
    assert len(view.choices) == 5 and view.uploaded == [] and "zq-uploaded" not in view.table_html


def test_evaluation_parameters_are_checked(seeds_qa, tmp_path):
    for k, mode, expected in [(0, "hybrid", "1 to 20"), (True, "hybrid", "whole number"), (5, "everything", "Unknown")]:
        with pytest.raises(BadQuestion, match=expected):
            handlers.run_evaluation(seeds_qa, "seeds.jsonl", None, mode, k, PROJECT / "eval", tmp_path)
    with pytest.raises(BadQuestion, match="Choose a question file"):
        handlers.run_evaluation(seeds_qa, "../../etc/passwd", None, "hybrid", 5, PROJECT / "eval", tmp_path)


# -- feedback ---------------------------------------------------------------------------------
def test_feedback_is_what_the_server_answered_one_rating_per_answer(seeds_qa, tmp_path):
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    session = handlers.Session()
    handlers.chat(seeds_qa, session, QINGXU, "hybrid", 5, [], message=1)
    assert "Thanks" in handlers.rate(log, session, 1, True)
    assert "Thanks" in handlers.rate(log, session, 1, False)  # a change replaces the rating
    rows = [json.loads(line) for line in log.path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1 and rows[0]["rating"] == "down" and rows[0]["question"] == QINGXU
    assert rows[0]["snippets"][0]["doc_id"] == QINGXU_DOC and "韻達快遞物流園" in rows[0]["snippets"][0]["text"]
    assert set(rows[0]) == {"timestamp", "session", "answer", "rating", "question", "asked", "mode", "k", "doc_ids",
                            "answered", "snippets"}
    # what a client may send instead of True/False: refused, nothing stored
    for liked in ("x" * 25_000_000, {"rating": "up", "question": "forged"}, ["up"], 1, "cleared"):
        with pytest.raises(FeedbackError) as caught:
            handlers.rate(log, session, 1, liked)
        assert one_line(str(caught.value)) and len(str(caught.value)) < 200
    for index in (0, 2, 99, -1, "1", True, None, [7, 0]):  # not an answer of this session
        with pytest.raises(FeedbackError, match="Only an answer of this chat"):
            handlers.rate(log, session, index, True)
    assert log.path.read_text(encoding="utf-8").count("\n") == 1
    other = handlers.Session()  # another session rates the same question: its own line
    handlers.chat(seeds_qa, other, QINGXU, "hybrid", 5, [], message=1)
    handlers.rate(log, other, 1, True)
    assert log.path.read_text(encoding="utf-8").count("\n") == 2
    assert "withdrawn" in handlers.rate(log, session, 1, None)
    rows = [json.loads(line) for line in log.path.read_text(encoding="utf-8").splitlines()]
    assert [r["session"] for r in rows] == [other.id()]


def test_feedback_file_is_rotated_and_bounded(tmp_path):
    from qa.web.feedback import MAX_RECORD_BYTES, Rated, record

    log = FeedbackLog(tmp_path / "feedback.jsonl", max_bytes=100_000, keep=2)
    rated = Rated("问" * 2000, "", "hybrid", 5, (), True, tuple({"text": "长" * 5000, "doc_id": "d"} for _ in range(50)))
    for n in range(40):
        row = record(f"s{n}", 1, "up", rated)
        assert len(json.dumps(row, ensure_ascii=False).encode("utf-8")) <= MAX_RECORD_BYTES
        log.rate(row)
    files = [log.path, *log.rotated()]
    assert len(files) == 3 and not (tmp_path / "feedback.3.jsonl").exists()
    assert all(f.stat().st_size <= 100_000 for f in files)
    assert not list(tmp_path.glob("*.tmp-*"))


# -- uploads ----------------------------------------------------------------------------------
@pytest.mark.slow  # the 71 seed questions, asked before and after the upload
def test_an_upload_adds_and_never_replaces_a_seed_article(writable_qa, tmp_path, seed_docs):
    qa = writable_qa
    before = seed_answers(qa)
    seeds_before = {i: qa.data().documents[i] for i in seed_docs}
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(json.dumps(r) for r in [  # ASCII JSON: "\\ud800" reads back as a lone surrogate
        {"id": DONG_DOC, "text": FORGED, "title": "伪造的标题", "source": "伪造日报", "date": "2030-01-01"},
        {"id": BLANKED_DOC, "text": "。"},
        {"id": "surrogate\ud800", "text": "一篇含有孤立代理\ud800字符的文章，讲述星河镇的水獭。"},
    ]) + "\n", encoding="utf-8")
    same = tmp_path / "same as a seed.txt"
    same.write_text(seed_docs[QINGXU_DOC].text, encoding="utf-8")
    done = add_documents(qa, [str(forged), str(same)], Path(qa.settings.index_dir) / UPLOADS, uploader="alice")
    documents = qa.data().documents
    for doc_id, doc in seeds_before.items():  # every seed article as it was, byte for byte
        assert documents[doc_id] == doc
    added = [documents[i] for i in done.report.added]
    assert len(added) == 3 and all(d.id.startswith("upload/") and d.uploaded for d in added)
    assert {d.original_id for d in added} == {DONG_DOC, BLANKED_DOC, "surrogate\ufffd"}
    assert all(d.uploaded_by == "alice" and d.uploaded_at for d in added)
    assert all(not any(0xD800 <= ord(c) <= 0xDFFF for c in d.id + d.text) for d in added)
    assert any("same as a seed.txt: same text as the indexed" in p and QINGXU_DOC in p for p in done.problems)
    assert [o for o, _ in done.saved] == ["forged.jsonl"]  # the duplicate's file is not kept
    # The seed questions are answered as before the upload: every answer given before keeps
    # its first snippet's article, nearly all keep the very sentence, and every snippet still
    # quotes its article verbatim. (An upload adds documents, so term weights change: a
    # question the seeds cannot answer whose confidence sat within a hair of the abstention
    # threshold may flip, and the learned picker may swap two sentences of one article whose
    # scores sat within a hair, e.g. two sentences of the digit-stripped article, neither of
    # which holds the number asked for. That is statistics, not the upload writing over an
    # article.)
    after = seed_answers(qa)
    assert [q for q, *_ in after] == [q for q, *_ in before]
    moved = []
    # The learned confidence reads no idf, but it reads which passages are retrieved and their
    # ranks, which an upload moves: an answer whose confidence sat within 0.02 of the threshold
    # may turn into "no answer" (measured with 60 unrelated articles uploaded: 1 of 122 seed
    # questions flips, 蔡路强是谁？ at 0.001 above it; docs/trust.md). Anything surer must stay.
    threshold = load_confidence(str(qa.settings.confidence_model)).answer_threshold
    for (question, was_answered, was, sure), (_, now_answered, now, _) in zip(before, after):
        if was_answered and not now_answered and sure is not None and sure < threshold + 0.02:
            continue
        if was_answered:
            assert now and now[0][0] == was[0][0], question  # the same article
            if now[0] != was[0]:
                moved.append(question)
        for doc_id, start, end, text in now:
            assert documents[doc_id].text[start:end] == text and (doc_id not in seed_docs or FORGED not in text)
    assert len(moved) <= 2, moved
    # the forged text is an answer of its own, cited to the upload, never to the real article
    answer = qa.ask("董健的妻子在瑞达社区担任保洁员吗？")
    assert all(s.citation.doc_id != DONG_DOC or FORGED not in s.text for s in answer.snippets)
    reply = handlers.chat(qa, handlers.Session(), "董健的妻子在瑞达社区担任保洁员吗？", "hybrid", 5, [], message=1)
    if any(s.text in FORGED for s in reply.answer.snippets):
        assert "上传 uploaded" in reply.answer_html and f"原 id {DONG_DOC}" in reply.answer_html
    # the corpus tab marks uploads, with who and when, and only they can be removed there
    view = handlers.corpus_view(qa)
    assert len(view.uploaded) == 3 and view.table_html.count("zq-uploaded") == 3 and "alice" in view.table_html
    with pytest.raises(CorpusError, match="only uploaded documents can be removed") as caught:
        remove_upload(qa, DONG_DOC, Path(qa.settings.index_dir) / UPLOADS)
    assert one_line(str(caught.value)) and DONG_DOC in qa.data().documents
    for doc in added:
        remove_upload(qa, doc.id, Path(qa.settings.index_dir) / UPLOADS)
    assert set(qa.data().documents) == set(seed_docs)
    assert not list((Path(qa.settings.index_dir) / UPLOADS).iterdir())  # its file went with its last document


def test_upload_limits_are_one_line(writable_qa, tmp_path):
    folder = Path(writable_qa.settings.index_dir) / UPLOADS
    with pytest.raises(CorpusError, match="Choose one or more files"):
        add_documents(writable_qa, [], folder)
    with pytest.raises(CorpusError, match="At most 20 files"):
        add_documents(writable_qa, [str(tmp_path / f"{n}.txt") for n in range(21)], folder)
    from qa.web import uploads

    many = tmp_path / "many.jsonl"
    many.write_text("".join(json.dumps({"id": f"d{n}", "text": f"第{n}篇文章讲的是编号为{n}的水獭。"}, ensure_ascii=False) + "\n"
                            for n in range(4)), encoding="utf-8")
    old = uploads.MAX_UPLOADED_DOCUMENTS
    uploads.MAX_UPLOADED_DOCUMENTS = 3
    try:
        with pytest.raises(CorpusError, match="more than the 3 allowed") as caught:
            add_documents(writable_qa, [str(many)], folder)
    finally:
        uploads.MAX_UPLOADED_DOCUMENTS = old
    assert one_line(str(caught.value)) and not list(folder.iterdir())
    assert len(writable_qa.documents()) == 5


# -- logins -----------------------------------------------------------------------------------
def test_failed_logins_back_off_per_client():
    now = [0.0]
    limiter = LoginLimiter(free=3, first_wait=2, longest=60, clock=lambda: now[0])
    for _ in range(2):
        limiter.failed("10.0.0.1")
    assert limiter.wait("10.0.0.1") == 0
    limiter.failed("10.0.0.1")
    assert limiter.wait("10.0.0.1") == 2 and limiter.wait("10.0.0.2") == 0  # per client
    now[0] = 2.0
    limiter.failed("10.0.0.1")
    assert limiter.wait("10.0.0.1") == 4  # doubled
    for _ in range(20):
        limiter.failed("10.0.0.1")
    assert limiter.wait("10.0.0.1") == 60  # capped
    limiter.succeeded("10.0.0.1")
    assert limiter.wait("10.0.0.1") == 0
