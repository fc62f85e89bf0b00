"""Template questions (qa.read.templates): answers, questions and where the paragraphs come from."""
from __future__ import annotations

import json
import random

import pytest

from qa.read import data as D
from qa.read import templates as T

PARAGRAPH = ("天水围位于香港新界元朗区。邻近港铁西铁线兆康站及轻铁兆康站，现时有3条巴士路线以此处为总站。"
             "2008年上映的电影《天水围的日与夜》在此拍摄。2009年4月18日，该片获得香港电影金像奖。作家周杰伦在北京写小说。")


def test_answer_candidates_are_dates_years_numbers_titles_and_names_without_overlap():
    found = T.answer_candidates(PARAGRAPH)
    spans = [(PARAGRAPH[c.start : c.end], c.kind) for c in found]
    assert ("3条", "number") in spans
    assert ("2008年", "year") in spans
    assert ("《天水围的日与夜》", "title") in spans
    assert ("2009年4月18日", "date") in spans  # the date, not the year inside it
    assert ("周杰伦", "person") in spans
    assert all(a.end <= b.start for a, b in zip(found, found[1:]))
    assert [c.measure for c in found if c.kind == "number"] == ["条"]


def test_a_traditional_paragraph_is_tagged_through_its_simplified_conversion():
    text = "臺灣大學位於臺北市，創立於1928年，現有學生約3萬名。"
    spans = {text[c.start : c.end] for c in T.answer_candidates(text)}
    assert {"1928年", "3萬名"} <= spans


def test_a_question_asks_for_its_answer_in_its_clause():
    rng = random.Random(0)
    three = next(c for c in T.answer_candidates(PARAGRAPH) if c.kind == "number")
    asked = {T.question_for(PARAGRAPH, three, False, rng) for _ in range(20)}
    assert asked == {"现时有多少条巴士路线以此处为总站？", "邻近港铁西铁线兆康站及轻铁兆康站，现时有多少条巴士路线以此处为总站？"}
    person = next(c for c in T.answer_candidates(PARAGRAPH) if c.kind == "person")
    assert T.question_for(PARAGRAPH, person, False, random.Random(1)) == "作家谁在北京写小说？"
    year = T.Candidate(0, 5, "year")
    text = "1928年創立的臺灣大學位於臺北市羅斯福路四段"
    assert T.question_for(text, year, True, random.Random(0)) == "哪一年創立的臺灣大學位於臺北市羅斯福路四段？"
    place = T.Candidate(3, 5, "place")
    assert T.question_for("他住在臺北已經很多年了", place, True, random.Random(0)) == "他住在哪裡已經很多年了？"


def test_web_debris_and_short_clauses_make_no_question():
    rng = random.Random(0)
    text = "Feb 24, 2022 ... 北京时间2022年的2月22日，比赛开始。"
    date = next(c for c in T.answer_candidates(text) if c.kind == "date")
    assert T.question_for(text, date, False, rng) is None
    assert T.question_for("有3条路。", T.Candidate(1, 3, "number", "条"), False, rng) is None


def test_template_questions_hold_their_answer_once_and_are_seeded():
    paragraphs = [T.Paragraph(PARAGRAPH, "cmrc2018-trial", "cmrc", "天水围"),
                  T.Paragraph("臺灣大學位於臺北市，創立於1928年，現有學生約3萬名，是臺灣規模最大的大學之一。",
                              "drcd-test", "drcd", "臺灣大學")]
    made = T.template_questions(paragraphs, seed=16)
    assert made == T.template_questions(paragraphs, seed=16)
    assert 3 <= len(made) <= 4  # at most two a paragraph
    for q in made:
        (text, start), = q.answers
        assert q.context[start : start + len(text)] == text and q.context.count(text) == 1
        assert q.question.endswith("？") and text not in q.question
        assert T.MIN_CHARS < len(q.question) <= T.MAX_CHARS + 1
    drcd = [q for q in made if q.style == "drcd"]
    assert drcd and not any(w in q.question for q in drcd for w in ("谁", "哪里", "什么时候", "哪个机构"))


def test_training_paragraphs_are_the_training_questions_and_uncited_news(tmp_path):
    news = tmp_path / "eval" / T.NEWS_SET
    news.mkdir(parents=True)
    body = "国家统计局2月28日发布2021年国民经济和社会发展统计公报，全年国内生产总值比上年增长8.1%，两年平均增长5.1%，在全球主要经济体中名列前茅。"
    docs = [{"id": "cited", "title": "", "text": body}, {"id": "free", "title": "", "text": body + "又及。"},
            {"id": "short", "title": "", "text": "太短。"}]
    news.joinpath("corpus.jsonl").write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs))
    news.joinpath("questions.jsonl").write_text(json.dumps({"id": "q", "question": "?", "doc": ["cited"]}))
    q = D.Question("1", "cmrc2018-trial", "cmrc", "天水围", PARAGRAPH, "天水围在哪里？", (("香港", 5),))
    paragraphs = T.training_paragraphs([q, q], tmp_path)
    assert [(p.text, p.title) for p in paragraphs] == [(PARAGRAPH, "天水围"), (body + "又及。", "rgb:free")]
    assert paragraphs[1].style == "cmrc" and paragraphs[1].source == T.NEWS_SET
    assert T.training_paragraphs([q], tmp_path / "nowhere") == paragraphs[:1]  # no news set: the paragraphs alone
    drawn = T.sample_template_questions([q], tmp_path, 2, seed=3)
    assert len(drawn) == 2 and drawn == T.sample_template_questions([q], tmp_path, 2, seed=3)


def test_train_reader_reads_template_questions_once_an_epoch():
    from qa.read.train import Prepared, Settings, epoch_examples, parse_args

    class Tokens:  # one token a character, offsets as the real tokenizer gives them
        def encode_batch(self, texts, add_special_tokens=False):
            class Enc:
                def __init__(self, t):
                    self.ids = [10 + ord(ch) % 1000 for ch in t]
                    self.offsets = [(i, i + 1) for i in range(len(t))]
            return [Enc(t) for t in texts]

    real = D.Question("1", "cmrc2018-trial", "cmrc", "天水围", PARAGRAPH, "天水围在哪里？", (("香港", 5),))
    made = T.template_questions([T.Paragraph(PARAGRAPH, "drcd-test", "drcd", "x")], seed=16)
    settings = Settings(balance_styles=True, neg_keep=0.0, cross_ratio=0.0)
    prep = Prepared([real], Tokens(), settings, made)
    examples = epoch_examples(prep, random.Random(0))
    assert len(examples) == 1 + len(made)  # balanced real questions, then each template question once
    _, parsed = parse_args(["--template-questions", "4500", "--seed", "16"])
    assert (parsed.template_questions, parsed.seed) == (4500, 16)
    assert parse_args([])[1].template_questions == 0
    with pytest.raises(SystemExit):
        parse_args(["--template-questions", "-1"])
