"""The answer span: the reader's span is the answer, cut from the article's original text,
inside the first snippet; the JSON contract carries it; without the reader nothing changes
but the span."""
from __future__ import annotations

import pytest

from qa.engine import QA
from qa.settings import Settings

QINGXU = "清徐县是在哪里发现初筛阳性人员的？"


@pytest.fixture(scope="module")
def no_reader(seeds_index_dir, encoder):
    return QA(Settings(index_dir=seeds_index_dir, reader=False), encoder=encoder)


def test_answer_span_is_original_text_inside_the_first_snippet(seeds_qa, seed_docs):
    answer = seeds_qa.ask(QINGXU)
    assert answer.answered and answer.span is not None
    span, first = answer.span, answer.snippets[0]
    doc = seed_docs[span.citation.doc_id]
    assert doc.text[span.citation.start:span.citation.end] == span.text
    assert first.citation.doc_id == span.citation.doc_id
    assert first.citation.start <= span.citation.start < span.citation.end <= first.citation.end
    assert 0 < len(span.text) < len(first.text) + 1


def test_json_contract_carries_the_answer(seeds_qa, seed_docs):
    out = seeds_qa.ask(QINGXU).to_json()
    a = out["answer"]
    assert set(a) == {"text", "doc_id", "start", "end", "score"}
    assert seed_docs[a["doc_id"]].text[a["start"]:a["end"]] == a["text"]
    assert out["snippets"][0]["start"] <= a["start"] and a["end"] <= out["snippets"][0]["end"]


def test_unanswered_has_no_answer(seeds_qa):
    out = seeds_qa.ask("2018年世界杯冠军是哪个国家？").to_json()
    assert out["answered"] is False and out["answer"] is None and out["snippets"] == []


def test_reader_finds_the_span_in_the_article(seeds_qa):
    """The span names the place (韻達快遞物流園), not just a sentence about the event."""
    span = seeds_qa.ask(QINGXU).span
    assert span is not None and "物流園" in span.text and len(span.text) <= 30


def test_without_the_reader_the_same_passages_and_no_span(seeds_qa, no_reader):
    with_reader, without = seeds_qa.ask(QINGXU).to_json(), no_reader.ask(QINGXU).to_json()
    assert without["answer"] is None
    assert with_reader["passages"] == without["passages"]
    assert with_reader["answered"] == without["answered"]


def test_chat_shows_the_span_in_bold_inside_its_sentence(seeds_qa, seed_docs):
    """The chat message holds the first snippet with the answer span, escaped, in <b class="zq-span">."""
    from qa.web import render

    answer = seeds_qa.ask(QINGXU)
    html = render.answer_html(answer, {d: seed_docs[d].text for d in seed_docs})
    assert f'<b class="zq-span">{render.esc(answer.span.text)}</b>' in html
    assert html.count('class="zq-span"') == 1


def test_span_markup_is_escaped():
    """A span whose text holds markup is shown as text, bold, never as HTML."""
    from qa.records import Answer, AnswerSpan, Citation, Snippet
    from qa.web import render

    text = "前文<script>alert(1)</script>后文。"
    cite = Citation("d", "t", "", "", 0, len(text))
    span = AnswerSpan("<script>alert(1)</script>", Citation("d", "t", "", "", 2, 27), -1.0)
    html = render.answer_html(Answer("q", True, (Snippet(text, cite, 1.0),), (), span=span), {"d": text})
    assert "<script>" not in html and '<b class="zq-span">&lt;script&gt;' in html


# ---------------------------------------------------------------- which sentence comes first


def _candidates(seeds_qa, question):
    from qa.answer.choice import load_choice, read_candidates
    from qa.answer.snippets import ranked_sentences
    from qa.question.query import make_query

    found = seeds_qa.retrieve(make_query(question), k=10)
    top = ranked_sentences(found.evidence, found.hits)[: load_choice().depth]
    return found, top, read_candidates(seeds_qa.reader, found.query, top, seeds_qa.settings.read_tokens)


def test_the_reader_reads_the_pickers_first_sentences(seeds_qa, seed_docs):
    from qa.answer.choice import CHOICE_FEATURES, choice_features, choose, load_choice

    _, top, spans = _candidates(seeds_qa, QINGXU)
    assert len(top) == len(spans) == load_choice().depth
    for c, s in zip(top, spans):  # each span lies inside its own sentence, in the original text
        if s is not None:
            assert s.hit.passage.doc_id == c.hit.passage.doc_id and c.start <= s.start < s.end <= c.end
    x = choice_features(top, spans)
    assert x.shape == (len(top), len(CHOICE_FEATURES))
    assert x[0, CHOICE_FEATURES.index("picker_gap")] == 0.0 and (x[:, 0] <= 0).all()
    assert choose(None, top, spans) == 0  # no model: the picker's first


def test_a_choice_model_that_trusts_the_reader_shows_its_best_span_first(seeds_qa):
    import numpy as np

    from qa.answer.choice import CHOICE_FEATURES, choose
    from qa.retrieve.fusion import LinearRanker

    _, top, spans = _candidates(seeds_qa, "李楠的妻子在哪个单位工作？")
    weights = np.array([1.0 if f == "span_score" else 0.0 for f in CHOICE_FEATURES])
    reader_only = LinearRanker(CHOICE_FEATURES, np.zeros(len(CHOICE_FEATURES)), np.ones(len(CHOICE_FEATURES)), weights)
    scores = [s.score if s is not None else -30.0 for s in spans]
    assert choose(reader_only, top, spans) == int(np.argmax(scores))


def test_the_shown_first_sentence_holds_the_answer_span(seeds_qa, seed_docs):
    """Whichever sentence the choice puts first, the span is cut from it, and the other
    snippets never overlap it."""
    for question in (QINGXU, "李楠的妻子在哪个单位工作？", "湖北公安机关排查的四类人员是什么？"):
        answer = seeds_qa.ask(question)
        if not answer.answered:
            continue
        first = answer.snippets[0]
        if answer.span is not None:
            assert first.citation.start <= answer.span.citation.start < answer.span.citation.end <= first.citation.end
        for other in answer.snippets[1:]:
            assert other.citation.doc_id != first.citation.doc_id or not (
                other.citation.start < first.citation.end and first.citation.start < other.citation.end)


def test_shipped_choice_reproduces_its_seed_validation_numbers(seeds_qa):
    """The committed model/choice.json gives its card's validation numbers on the seed
    questions' validation fold (the other sets need ../shared: `qa train-choice`)."""
    import json

    from qa.answer.choice import MODEL_PATH, load_choice
    from qa.answer.train_choice import collect, measure
    from qa.evaluate.run import load_questions
    from qa.folds import fold_of
    from qa.retrieve.train_fusion import Visible
    from qa.settings import PROJECT_ROOT

    shipped = json.loads(MODEL_PATH.read_text(encoding="utf-8"))["validation"]["seeds"]
    qs = [q for q in load_questions(PROJECT_ROOT / "eval" / "seeds.jsonl") if q.docs]
    rows = collect(Visible("seeds", seeds_qa, qs, [fold_of(q.id) for q in qs]), seeds_qa.settings, folds={0})
    assert measure(rows, load_choice()) == shipped


# ---------------------------------------------------------------- how many sentences are read


def test_the_choice_file_names_how_many_sentences_are_read(tmp_path):
    import json

    from qa.answer.choice import CHOICE_DEPTH, MODEL_PATH, load_choice

    row = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert load_choice().depth == row["depth"]
    for depth, expected in ((None, CHOICE_DEPTH), (4, 4), (0, ValueError), (99, ValueError)):
        changed = dict(row)
        changed.pop("depth")
        if depth is not None:
            changed["depth"] = depth
        path = tmp_path / f"choice-{depth}.json"
        path.write_text(json.dumps(changed), encoding="utf-8")
        if expected is ValueError:
            with pytest.raises(ValueError, match="retrain it with `qa train-choice`"):
                load_choice(str(path))
        else:
            assert load_choice(str(path)).depth == expected


def test_the_answer_reads_as_many_sentences_as_the_choice_says(seeds_qa):
    """With a choice of depth d the picker's first d sentences are read; without a choice
    only the first (nothing would choose among more)."""
    from qa.answer.choice import SentenceChoice, load_choice
    from qa.answer.snippets import answer
    from qa.question.query import make_query

    found = seeds_qa.retrieve(make_query(QINGXU), k=10)
    read_counts = []

    def read(cands):
        read_counts.append(len(cands))
        return [None] * len(cands)

    ranker = load_choice().ranker
    for choice in (SentenceChoice(ranker, 2), SentenceChoice(ranker, 4), None):
        got = answer(found.query, found.hits, found.data, seeds_qa.settings.abstain_threshold, "hybrid",
                     found.evidence, read, choice)
        assert got.answered and got.span is None  # the reader found nothing: no span, the sentence still shown
    assert read_counts == [2, 4, 1]


def test_depth_is_chosen_by_cross_validation_inside_the_train_folds():
    """When the answer sits in the fourth sentence and the reader marks it, reading four wins
    over three on held-out train folds; with nothing to gain, the shallower read wins the tie."""
    from types import SimpleNamespace

    import numpy as np

    from qa.answer.train_choice import DEPTHS, Row, choose_depth

    def row(fold, answer_at, n=5):
        top = [SimpleNamespace(score=1.0 - 0.1 * i, hit=SimpleNamespace(rank=1 + i // 2)) for i in range(n)]
        read = [SimpleNamespace(score=-1.0 if i == answer_at else -6.0 - 0.1 * i, margin=4.0 if i == answer_at else -2.0)
                for i in range(n)]
        holds = np.array([i == answer_at for i in range(n)])
        return Row("s", fold, top, read, holds, ["x"] * n, ("x",), True)

    rows = [row(f, 3 if k % 2 else 1) for f in (1, 2, 3, 4) for k in range(6)]
    depth, cv = choose_depth(rows)
    assert 4 in DEPTHS and depth == 4 and cv[4] > cv[3]
    easy = [row(f, 1) for f in (1, 2, 3, 4) for k in range(6)]
    depth, cv = choose_depth(easy)
    assert depth == min(DEPTHS) and len(set(cv.values())) == 1
