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


def _candidates(seeds_qa, question, extend=True):
    from qa.answer.choice import gather, load_choice, read_windows
    from qa.answer.snippets import ranked_sentences
    from qa.question.query import make_query

    found = seeds_qa.retrieve(make_query(question), k=10)
    ranked = ranked_sentences(found.evidence, found.hits)
    windows = read_windows(seeds_qa.reader, found.query, ranked[: load_choice().depth], seeds_qa.settings.read_tokens,
                           load_choice().spans)
    return ranked, windows, gather(ranked, windows, extend)


def test_the_reader_reads_the_pickers_first_sentences(seeds_qa, seed_docs):
    from qa.answer.choice import CHOICE_FEATURES, choice_features, choose, load_choice

    depth = load_choice().depth
    ranked, windows, reading = _candidates(seeds_qa, QINGXU)
    assert len(windows) == depth and list(reading.sentences[:depth]) == ranked[:depth]
    assert reading.ranks[:depth] == tuple(range(depth)) and not any(reading.found[:depth])
    assert len(reading.sentences) == len(reading.spans) == len(reading.ranks) <= 2 * depth
    for c, s, j in zip(reading.sentences, reading.spans, reading.ranks):  # spans lie inside their sentence
        assert ranked[j] == c
        if s is not None:
            assert s.hit.passage.doc_id == c.hit.passage.doc_id and c.start <= s.start < s.end <= c.end
            assert seed_docs[c.hit.passage.doc_id].text[s.start : s.end].strip()
    x = choice_features(reading)
    assert x.shape == (len(reading.sentences), len(CHOICE_FEATURES))
    assert x[0, CHOICE_FEATURES.index("picker_gap")] == 0.0 and x[0, CHOICE_FEATURES.index("picker_rr")] == 1.0
    assert choose(None, reading) == 0  # no model: the picker's first


def test_a_choice_model_that_trusts_the_reader_shows_its_best_span_first(seeds_qa):
    import numpy as np

    from qa.answer.choice import CHOICE_FEATURES, choose
    from qa.ranker import LinearRanker

    _, _, reading = _candidates(seeds_qa, "李楠的妻子在哪个单位工作？")
    weights = np.array([1.0 if f == "span_score" else 0.0 for f in CHOICE_FEATURES])
    reader_only = LinearRanker(CHOICE_FEATURES, np.zeros(len(CHOICE_FEATURES)), np.ones(len(CHOICE_FEATURES)), weights)
    scores = [s.score if s is not None else -30.0 for s in reading.spans]
    assert choose(reader_only, reading) == int(np.argmax(scores))


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
    from qa_train.train_choice import collect, measure
    from qa.evaluate.run import load_questions
    from qa_train.sets import Visible
    from qa.settings import PROJECT_ROOT

    shipped = json.loads(MODEL_PATH.read_text(encoding="utf-8"))["validation"]["seeds"]
    qs = [q for q in load_questions(PROJECT_ROOT / "eval" / "seeds.jsonl") if q.docs]
    choice = load_choice()
    rows = collect(Visible("seeds", seeds_qa, qs, [q.id for q in qs]), seeds_qa.settings, folds={0},
                   picker=choice.picker)
    got = measure(rows, choice)
    # The reader's spans come from int8 kernels that differ by processor: on a Zen 3 (AVX2,
    # no VNNI, u8 x s8 sums saturating before the reader fed it u8 weights) one of the 17
    # spans came out longer, F1 0.6246 against 0.5828 (one question's partial credit, 0.042)
    # with answer@1 and EM equal. So F1 may move by less than one question's worth (1/n);
    # which sentence is chosen, and whether it holds the answer, may not.
    n = shipped["questions"]
    for label in ("picker", "choice"):
        assert got[label]["f1"] == pytest.approx(shipped[label]["f1"], abs=1 / n - 1e-4)
        assert {k: v for k, v in got[label].items() if k != "f1"} == {
            k: v for k, v in shipped[label].items() if k != "f1"}
    assert {k: v for k, v in got.items() if k not in ("picker", "choice")} == {
        k: v for k, v in shipped.items() if k not in ("picker", "choice")}


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
        return [[] for _ in cands]

    ranker = load_choice().ranker
    for choice in (SentenceChoice(ranker, 2), SentenceChoice(ranker, 4), None):
        got = answer(found.query, found.hits, found.data, seeds_qa.settings.abstain_threshold, "hybrid",
                     found.evidence, read, choice)
        assert got.answered and got.span is None  # the reader found nothing: no span, the sentence still shown
    assert read_counts == [2, 4, 1]


def _sentence(i, doc="d"):
    from types import SimpleNamespace

    return SimpleNamespace(start=10 * i, end=10 * i + 10, score=1.0 - 0.1 * i,
                           hit=SimpleNamespace(rank=1 + i // 4, passage=SimpleNamespace(doc_id=doc, pid=1 + i // 4)))


def _span(start, end, score, doc="d"):
    from qa.answer.spans import ReadSpan

    return ReadSpan(_sentence(0, doc).hit, start, end, score, score + 2.0)


def test_gather_adds_the_sentence_holding_a_windows_best_span():
    from qa.answer.choice import gather

    ranked = [_sentence(i) for i in range(6)]
    windows = [[_span(42, 45, -0.5), _span(2, 5, -3.0)],  # best span in sentence 4, a neighbour not read
               [_span(15, 25, -1.0), _span(11, 13, -2.0)],  # best crosses a sentence boundary: nothing added
               [_span(22, 24, -1.5), _span(3, 6, -0.2)]]  # best inside its own sentence; a better one in sentence 0
    plain = gather(ranked, windows, extend=False)
    assert plain.ranks == (0, 1, 2) and plain.found == (False,) * 3
    assert [(s.start, s.end) for s in plain.spans] == [(3, 6), (11, 13), (22, 24)]  # best inside, over all windows
    extended = gather(ranked, windows, extend=True)
    assert extended.ranks == (0, 1, 2, 4) and extended.found == (False, False, False, True)
    assert (extended.spans[3].start, extended.spans[3].end) == (42, 45)
    assert gather(ranked, [[], [], []], extend=True).spans == (None, None, None)


def test_depth_and_extension_are_chosen_by_cross_validation_inside_the_train_folds():
    """When the answer sits in a neighbour sentence that a window's best span marks, adding
    it wins on held-out train folds; with nothing to gain, the plain candidates win the tie."""
    import numpy as np

    from qa_train.train_choice import DEPTHS, SPANS, Row, choose_reading

    def row(fold, in_neighbour):
        ranked = [_sentence(i) for i in range(8)]
        answer_at = 6 if in_neighbour else 1
        windows = [[_span(10 * i + 2, 10 * i + 5, -4.0 - 0.1 * i)] for i in range(max(DEPTHS))]
        windows[1] = [_span(10 * answer_at + 2, 10 * answer_at + 5, -0.5)] + windows[1]
        holds = np.array([i == answer_at for i in range(len(ranked))])
        return Row("s", fold, ranked, windows, holds, lambda s: "x" if s is not None else "", ("x",), True)

    rows = [row(f, bool(k % 2)) for f in (1, 2, 3, 4) for k in range(6)]
    (depth, extend, spans), cv = choose_reading(rows)
    assert extend and cv[f"depth {depth}, extended, {spans} spans a window"] > cv[f"depth {depth}, {spans} spans a window"]
    easy = [row(f, False) for f in (1, 2, 3, 4) for k in range(6)]
    (depth, extend, spans), cv = choose_reading(easy)
    assert depth == min(DEPTHS) and not extend and spans == min(SPANS) and len(set(cv.values())) == 1


def test_more_spans_a_window_give_a_candidate_a_span_of_its_own(tmp_path):
    """A sentence whose spans all rank below its neighbours' gets none with 3 spans a window
    (the choice sees the no-span constant) and its own with 10; the number is the choice
    file's and survives a round trip."""
    import json

    import numpy as np

    from qa.answer.choice import CHOICE_FEATURES, NO_SPAN, SentenceChoice, choice_features, load_choice, model_to_json
    from qa_train.train_choice import Row
    from qa.ranker import LinearRanker

    ranked = [_sentence(i) for i in range(6)]
    windows = [[_span(2, 5, -0.5)],
               [_span(2, 4, -1.0), _span(3, 6, -1.2), _span(22, 25, -1.4), _span(12, 15, -2.5)],  # sentence 1's span is 4th
               [_span(22, 24, -0.3)]]
    holds = np.array([i == 1 for i in range(len(ranked))])
    row = Row("s", 1, ranked, windows, holds, lambda s: "x" if s is not None else "", ("x",), True)
    assert row.reading(3, False, 3).spans[1] is None
    assert choice_features(row.reading(3, False, 3))[1, CHOICE_FEATURES.index("span_score")] == NO_SPAN
    assert row.reading(3, False, 10).spans[1].start == 12
    n = len(CHOICE_FEATURES)
    path = tmp_path / "choice.json"
    ranker = LinearRanker(CHOICE_FEATURES, np.zeros(n), np.ones(n), np.ones(n))
    path.write_text(json.dumps(model_to_json(SentenceChoice(ranker, 3, True, None, 10))), encoding="utf-8")
    assert load_choice(str(path)).spans == 10
    bad = tmp_path / "bad.json"  # load_choice caches by path
    bad.write_text(json.dumps(model_to_json(SentenceChoice(ranker, 3, True, None, 0))), encoding="utf-8")
    with pytest.raises(ValueError, match="spans a window"):
        load_choice(str(bad))


def test_read_windows_asks_for_ten_spans_and_keeps_the_choices_number():
    """The product reads as `qa train-choice` reads its rows: the reader is asked for
    MAX_SPANS_PER_WINDOW spans a window, and the first ``spans`` (best first) are kept."""
    from types import SimpleNamespace

    from qa.answer.choice import MAX_SPANS_PER_WINDOW, read_windows
    from qa.read.reader import PassageReading, Span

    asked = []

    def read(question, passages, max_tokens=None, focus=None, top_k=None):
        asked.append(top_k)
        return [PassageReading(i, tuple(Span(j, j + 2, "xx", -0.1 * j) for j in range(top_k)), -5.0)
                for i in range(len(passages))]

    cands = [_sentence(0)]
    cands[0].hit.passage.text, cands[0].hit.passage.start = "x" * 40, 0
    query = SimpleNamespace(text="q")
    for spans in (3, 10):
        windows = read_windows(SimpleNamespace(read=read), query, cands, 96, spans)
        assert [s.start for s in windows[0]] == list(range(spans))  # the best first
    assert asked == [MAX_SPANS_PER_WINDOW, MAX_SPANS_PER_WINDOW]


def test_the_engine_reads_with_the_choices_number_of_spans(seeds_qa, monkeypatch):
    from qa import engine as engine_module
    from qa.answer.choice import load_choice

    kept = []
    real = engine_module.read_windows

    def spy(reader, query, cands, tokens, spans):
        kept.append(spans)
        return real(reader, query, cands, tokens, spans)

    monkeypatch.setattr(engine_module, "read_windows", spy)
    seeds_qa.ask(QINGXU)
    assert kept == [load_choice(str(seeds_qa.settings.choice_model)).spans]


def test_ten_spans_a_window_are_chosen_when_the_right_sentences_span_ranks_fourth():
    import numpy as np

    from qa_train.train_choice import Row, choose_reading

    def row(fold, k):
        ranked = [_sentence(i) for i in range(6)]
        right = 1 + k % 2  # sentence 1 or 2; its only span ranks 4th in its window, below sentence 0's
        windows = [[_span(2, 5, -0.5)], [_span(2, 4, -1.0), _span(3, 6, -1.2), _span(4, 7, -1.3)],
                   [_span(2, 3, -1.0), _span(3, 5, -1.2), _span(5, 8, -1.3)]]
        windows[right] = windows[right] + [_span(10 * right + 2, 10 * right + 5, -2.0)]
        holds = np.array([i == right for i in range(len(ranked))])
        return Row("s", fold, ranked, windows, holds, lambda s: "x" if s is not None else "", ("x",), True)

    rows = [row(f, k) for f in (1, 2, 3, 4) for k in range(6)]
    (_, _, spans), cv = choose_reading(rows)
    assert spans == 10 and cv["depth 3, 10 spans a window"] > cv["depth 3, 3 spans a window"]


def test_cross_fitting_never_answers_a_lent_question_with_a_fit_that_saw_it(monkeypatch):
    """The validation folds lent to the choice's fit are reported cross-fitted: each half is
    answered by a choice fitted on the train folds and the other half, every lent question
    exactly once."""
    import numpy as np

    from qa_train import train_choice as tc

    def row(name, fold, part, k):
        ranked = [_sentence(i) for i in range(6)]
        answer_at = k % 3
        windows = [[_span(10 * i + 2, 10 * i + 5, -0.5 if i == answer_at else -3.0 - 0.1 * i)] for i in range(max(tc.DEPTHS))]
        holds = np.array([i == answer_at for i in range(len(ranked))])
        return tc.Row(name, fold, ranked, windows, holds, lambda s: "x" if s is not None else "", ("x",), True, part)

    teach = [row("news", f, None, k) for f in (1, 2, 3, 4) for k in range(3)]
    lent = {name: [row(name, 0, p, k) for p in (1, 2, 3, 4) for k in range(3)] for name in ("wiki", "other")}
    fitted_on, answered, fitting = [], [], []
    real_fit, real_measure = tc.fit_chosen, tc.measure

    def spy_fit(rows, picker=None):
        fitted_on.append({id(r) for r in rows})
        fitting.append(True)
        try:
            return real_fit(rows, picker)
        finally:
            fitting.pop()

    def spy_measure(rows, model):
        if not fitting:  # the fit's own cross-validation over its parts measures too
            answered.append(({id(r) for r in rows}, fitted_on[-1]))
        return real_measure(rows, model)

    monkeypatch.setattr(tc, "fit_chosen", spy_fit)
    monkeypatch.setattr(tc, "measure", spy_measure)
    report = tc.cross_fitted(teach, lent)
    assert all(not (rows & fit) for rows, fit in answered)
    every = [i for rows, _ in answered for i in rows]
    assert sorted(every) == sorted(id(r) for rows in lent.values() for r in rows)  # each exactly once
    assert all(any(id(r) in fit for r in teach) for fit in fitted_on)  # the train folds teach every fit
    assert {name: r["questions"] for name, r in report.items()} == {"wiki": 12, "other": 12}
    assert all(r["choice"]["answer@1"] == 1.0 for r in report.values())  # the reader's best span is always right here


def test_validation_parts_split_the_validation_fold_alone():
    from qa.folds import fold_of, validation_part

    keys = [f"article {i}" for i in range(2000)]
    inside = [k for k in keys if fold_of(k) == 0]
    parts = [validation_part(k) for k in inside]
    assert set(parts) == {0, 1, 2, 3} and min(parts.count(p) for p in range(4)) > len(inside) / 8
    assert all(fold_of(k, 20) % 5 == 0 for k in inside)  # the parts refine fold 0 of the five folds


def test_the_picker_orders_the_sentences_only_in_the_mode_it_was_fitted_on(seeds_qa):
    """A picker that trusts only the passage's place puts the first passage's sentences
    first; without a picker, or for dense or BM25 hits, the evidence's order stays."""
    import numpy as np

    from qa.answer.choice import PICKER_FEATURES, picker_features, picker_order
    from qa.answer.snippets import ranked_sentences
    from qa.question.query import make_query
    from qa.ranker import LinearRanker

    found = seeds_qa.retrieve(make_query(QINGXU), k=10)
    ranked = ranked_sentences(found.evidence, found.hits)
    x = picker_features(ranked, found.hits)
    assert x.shape == (len(ranked), len(PICKER_FEATURES))
    assert (x[:, PICKER_FEATURES.index("similarity_gap")] <= 0).all() and (x[:, PICKER_FEATURES.index("passage_gap")] <= 0).all()
    n = len(PICKER_FEATURES)
    by_place = LinearRanker(PICKER_FEATURES, np.zeros(n), np.ones(n),
                            np.array([1.0 if f == "passage_prior" else 0.0 for f in PICKER_FEATURES]))
    ordered = picker_order(by_place, ranked, found.hits)
    assert sorted(ordered, key=id) == sorted(ranked, key=id)
    first_pid = found.hits[0].passage.pid
    n_first = sum(c.hit.passage.pid == first_pid for c in ranked)
    assert all(c.hit.passage.pid == first_pid for c in ordered[:n_first])
    assert [c for c in ordered if c.hit.passage.pid == first_pid] == [c for c in ranked if c.hit.passage.pid == first_pid]
    assert picker_order(None, ranked, found.hits) is ranked
    assert picker_order(by_place, ranked, found.hits, mode="dense") is ranked


def test_the_picker_is_kept_only_when_cross_validation_inside_the_train_folds_prefers_it():
    """Where the hand-set order misses the answer and the passage's retrieval score shows it,
    the learned picker wins the cross-validation; where the hand-set order is already right,
    a tie keeps it."""
    import numpy as np

    from qa.answer.choice import PICKER_FEATURES
    from qa_train.train_choice import PickerRow, choose_picker, fit_picker, picker_measure

    gap = PICKER_FEATURES.index("passage_gap")
    rng = np.random.default_rng(3)

    def row(fold, hand_right):
        x = rng.normal(size=(6, len(PICKER_FEATURES)))
        x[:, gap] = -2.0
        holds = np.zeros(6, bool)
        holds[5] = True
        x[5, gap] = 0.0  # the answer is in the first passage
        hand = np.linspace(1.0, 0.5, 6)
        if hand_right:
            hand[5] = 2.0
        return PickerRow("s", fold, x, hand, holds)

    rows = [row(f, False) for f in (1, 2, 3, 4) for _ in range(8)]
    use, report = choose_picker(rows, 3)
    assert use and report["mean"]["learned"] == 1.0 and report["mean"]["hand"] == 0.0
    assert picker_measure(rows, fit_picker(rows), 3)["first"] == 1.0
    use, report = choose_picker([row(f, True) for f in (1, 2, 3, 4) for _ in range(8)], 3)
    assert not use and report["mean"]["hand"] == 1.0


def test_the_passage_of_the_sentence_shown_first_leads_the_passages(seeds_qa):
    """When the choice shows a sentence of a lower passage, that passage is put first (marked,
    ranks renumbered, no passage lost); without ``lead`` retrieval's order stays."""
    import numpy as np

    from qa.answer.choice import CHOICE_FEATURES, SentenceChoice, read_windows
    from qa.answer.snippets import answer, ranked_sentences
    from qa.question.query import make_query
    from qa.ranker import LinearRanker
    from qa.web.render import why_html

    found = seeds_qa.retrieve(make_query(QINGXU), k=5)
    cands = ranked_sentences(found.evidence, found.hits)
    assert any(c.hit.rank > 1 for c in cands)
    n = len(CHOICE_FEATURES)
    below_top = LinearRanker(CHOICE_FEATURES, np.zeros(n), np.ones(n),
                             np.array([-1.0 if f == "top_passage" else 0.0 for f in CHOICE_FEATURES]))
    choice = SentenceChoice(below_top, depth=len(cands))

    def read(sentences):
        return read_windows(seeds_qa.reader, found.query, sentences, 96, choice.spans)

    def ask(lead):
        return answer(found.query, found.hits, found.data, 0.0, "hybrid", found.evidence, read, choice, lead=lead)

    kept, led = ask(False), ask(True)
    assert [h.passage.pid for h in kept.hits] == [h.passage.pid for h in found.hits]
    assert not any(h.moved_first for h in kept.hits)
    shown = led.snippets[0].citation
    first = led.hits[0]
    assert first.passage.doc_id == shown.doc_id and first.passage.start <= shown.start and shown.end <= first.passage.end
    assert first.passage.pid != found.hits[0].passage.pid and first.moved_first
    assert [h.rank for h in led.hits] == list(range(1, len(found.hits) + 1))
    assert not any(h.moved_first for h in led.hits[1:])
    assert sorted(h.passage.pid for h in led.hits) == sorted(h.passage.pid for h in found.hits)
    rest = [h.passage.pid for h in found.hits if h.passage.pid != first.passage.pid]
    assert [h.passage.pid for h in led.hits[1:]] == rest  # the others keep their order
    fused = {h.passage.pid: h.rank for h in found.hits}
    assert all(h.fused_rank == fused[h.passage.pid] for h in led.hits)  # where fusion had put each
    assert f"(#{first.fused_rank})" in why_html(led) and first.fused_rank > 1
    assert led.to_json()["passages"][0]["fused_rank"] == first.fused_rank
    assert "moved first" in why_html(led) and "moved first" not in why_html(kept)
    assert led.to_json()["passages"][0]["moved_first"] is True
    assert "moved_first" not in led.to_json()["passages"][1]


def test_the_engine_leads_with_the_answers_passage_in_hybrid_mode_only(seeds_index_dir, encoder, tmp_path):
    """Through the engine, with a choice file that shows sentences below the first passage:
    hybrid answers lead with the shown sentence's passage; dense and BM25 keep the single
    retriever's order (they are its baselines), and so does hybrid with the setting off."""
    import json
    from dataclasses import replace

    import numpy as np

    from qa.answer.choice import CHOICE_FEATURES, SentenceChoice, model_to_json

    n = len(CHOICE_FEATURES)
    from qa.ranker import LinearRanker

    below_top = LinearRanker(CHOICE_FEATURES, np.zeros(n), np.ones(n),
                             np.array([-1.0 if f == "top_passage" else 0.0 for f in CHOICE_FEATURES]))
    path = tmp_path / "choice.json"
    path.write_text(json.dumps(model_to_json(SentenceChoice(below_top, depth=10))), encoding="utf-8")
    # The confidence is fitted to the shipped choice, not to this one, which shows sentences below
    # the first passage on purpose: the hand-set abstention decides here.
    settings = Settings(index_dir=seeds_index_dir, choice_model=path, confidence_model=None)
    engine = QA(settings, encoder=encoder)
    led = engine.ask(QINGXU)
    shown = led.snippets[0].citation
    assert led.hits[0].moved_first and led.hits[0].passage.doc_id == shown.doc_id
    assert led.hits[0].passage.start <= shown.start < led.hits[0].passage.end
    off = QA(replace(settings, answer_passage_first=False), encoder=encoder).ask(QINGXU)
    assert not any(h.moved_first for h in off.hits)
    assert off.hits[0].passage.pid != led.hits[0].passage.pid
    for mode in ("dense", "bm25"):
        got = engine.ask(QINGXU, mode=mode)
        assert not any(h.moved_first for h in got.hits)
        assert [h.rank for h in got.hits] == list(range(1, len(got.hits) + 1))


def test_the_measure_reports_passages_with_the_answers_passage_first():
    """A question whose relevant passage is retrieval's second: when the choice shows a
    sentence of it, putting it first makes it Recall@1; retrieval's own order does not."""
    import numpy as np

    from qa.answer.choice import CHOICE_FEATURES, SentenceChoice
    from qa_train.train_choice import Row, measure, pooled
    from qa.ranker import LinearRanker

    ranked = [_sentence(0), _sentence(5), _sentence(1), _sentence(2)]  # the second sentence is in passage 2
    windows = [[_span(2, 5, -3.0)], [_span(52, 55, -0.5)], [_span(12, 15, -4.0)]]
    holds = np.array([False, True, False, False])
    row = Row("s", 0, ranked, windows, holds, lambda s: "x" if s is not None else "", ("x",), True, 1,
              passages=(1, 2, 3), relevant=frozenset({2}))
    assert row.relevant_rank() == 2 and row.relevant_rank(2) == 1 and row.relevant_rank(3) == 3
    n = len(CHOICE_FEATURES)
    by_span = SentenceChoice(LinearRanker(CHOICE_FEATURES, np.zeros(n), np.ones(n),
                                          np.array([1.0 if f == "span_score" else 0.0 for f in CHOICE_FEATURES])), 3)
    got = measure([row], by_span)
    assert got["choice"]["answer@1"] == 1.0 and got["picker"]["answer@1"] == 0.0
    assert got["passages"] == {"retrieval": {"recall@1": 0.0, "mrr@10": 0.5}, "answer_first": {"recall@1": 1.0, "mrr@10": 1.0}}
    unsure = Row("s", 0, ranked, windows, holds, row.span_text, ("x",), False, 1, passages=(1, 2, 3),
                 relevant=frozenset({2}))  # abstained: nothing is shown, nothing moves
    assert measure([unsure], by_span)["passages"]["answer_first"] == {"recall@1": 0.0, "mrr@10": 0.5}
    both = pooled([got, measure([unsure], by_span)])
    assert both["passages"]["answer_first"] == {"recall@1": 0.5, "mrr@10": 0.75}


def test_a_choice_file_fitted_on_other_picker_features_names_its_own_retrain_command(tmp_path):
    import json

    from qa.answer.choice import MODEL_PATH, load_choice

    row = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    row["picker"]["features"] = row["picker"]["features"][:-1]
    path = tmp_path / "choice.json"
    path.write_text(json.dumps(row), encoding="utf-8")
    with pytest.raises(ValueError, match="retrain it with `qa train-choice`"):
        load_choice(str(path))


def test_the_card_names_the_processor_its_numbers_were_measured_on():
    """The choice's numbers hold the reader's spans, which depend on the processor's int8
    kernels: the card says where they were measured (issue 34); the shipped card is what
    card() writes from the shipped file."""
    import json

    from qa.answer.choice import MODEL_PATH, load_choice
    from qa_train.train_choice import card
    from qa.cpu import one_line, processor

    about = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    shipped = card(load_choice(), about)
    assert shipped == MODEL_PATH.with_name("CHOICE_CARD.md").read_text(encoding="utf-8")
    assert "**Processor.** Measured on an AMD EPYC (Zen 4: AVX-512 with VNNI" in shipped
    here = processor().as_dict()
    assert f"**Processor.** Measured on {one_line(here)}." in card(load_choice(), {**about, "processor": here})
