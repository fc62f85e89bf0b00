"""Template questions (qa_train.templates): answers, questions and where the paragraphs come from."""
from __future__ import annotations

import random

import pytest
from char_tokens import CharTokens

from qa.folds import is_validation
from qa.read import data as D
from qa_train import templates as T

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
    found = [(text[c.start : c.end], c.kind) for c in T.answer_candidates(text)]
    assert found == [("臺灣大學", "org"), ("臺北市", "place"), ("1928年", "year"), ("3萬名", "number")]


def test_ordinals_decades_and_a_bare_one_are_not_answers():
    text = "他第3次来到这里，带着一个包和1960年代的照片，共有一百人。"
    assert [(text[c.start : c.end], c.kind) for c in T.answer_candidates(text)] == [("一百人", "number")]


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


def test_web_debris_unpaired_quotes_and_short_clauses_make_no_question():
    rng = random.Random(0)
    text = "Sports News 北京时间2022年的2月22日，比赛开始。"
    date = next(c for c in T.answer_candidates(text) if c.kind == "date")
    assert T.question_for(text, date, False, rng) is None
    assert T.question_for("有3条路。", T.Candidate(1, 3, "number", "条"), False, rng) is None
    quoted = "他说“今年共有3条新路线，全部通车。”"
    assert T.question_for(quoted, T.Candidate(7, 9, "number", "条"), False, random.Random(5)) is None
    assert T.question_for(quoted.replace("“", ""), T.Candidate(6, 8, "number", "条"), False, random.Random(5)) \
        == "他说今年共有多少条新路线？"


def test_template_questions_hold_their_answer_once_and_are_seeded():
    paragraphs = [T.Paragraph(PARAGRAPH, "cmrc2018-trial", "cmrc", "天水围"),
                  T.Paragraph("臺灣大學位於臺北市，創立於1928年，現有學生約3萬名，是臺灣規模最大的大學之一。",
                              "drcd-test", "drcd", "臺灣大學")]
    made = T.make_template_questions(paragraphs, seed=16)
    assert made == T.make_template_questions(paragraphs, seed=16)
    assert len(made) == 4  # two a paragraph
    for q in made:
        (text, start), = q.answers
        assert q.context[start : start + len(text)] == text and q.context.count(text) == 1
        assert q.question.endswith("？") and text not in q.question
        assert T.MIN_CHARS <= len(q.question) - 1 <= T.MAX_CHARS
    drcd = [q for q in made if q.style == "drcd"]
    assert drcd and not any(w in q.question for q in drcd for w in ("谁", "哪里", "什么时候", "哪个机构"))
    # every question the paragraph gives, pinned: a change here changes what a run trains on
    every = T.make_template_questions(paragraphs[:1], seed=16, per_paragraph=9)
    assert {(q.question, q.answers[0][0]) for q in every} == {
        ("2008年上映的电影哪部作品在此拍摄？", "《天水围的日与夜》"),
        ("邻近港铁西铁线兆康站及轻铁兆康站，现时有多少条巴士路线以此处为总站？", "3条"),
        ("作家周杰伦在哪里写小说？", "北京"),
        ("现时有3条哪里路线以此处为总站？", "巴士"),  # jieba tags 巴士 a place: the kind of noise it makes
        ("作家谁在北京写小说？", "周杰伦"),
        ("哪一年上映的电影《天水围的日与夜》在此拍摄？", "2008年"),
    }


def test_only_training_articles_give_paragraphs():
    train_title = next(t for t in map(str, range(100)) if not is_validation(t))
    valid_title = next(t for t in map(str, range(100)) if is_validation(t))
    q = D.Question("1", "cmrc2018-trial", "cmrc", train_title, PARAGRAPH, "天水围在哪里？", (("香港", 5),))
    v = D.Question("2", "cmrc2018-trial", "cmrc", valid_title, PARAGRAPH + "又及。", "？", (("香港", 5),))
    assert T.training_paragraphs([q, v, q]) == [T.Paragraph(PARAGRAPH, "cmrc2018-trial", "cmrc", train_title)]
    drawn = T.draw_template_questions([q, v], 2, seed=3)
    assert len(drawn) == 2 and drawn == T.draw_template_questions([q], 2, seed=3)
    assert all(d.context == PARAGRAPH for d in drawn)


def test_train_reader_reads_template_questions_once_an_epoch():
    from qa_train.reader_recipe import Prepared, TrainSettings
    from qa_train.train_reader import epoch_examples, parse_args

    real = D.Question("1", "cmrc2018-trial", "cmrc", "天水围", PARAGRAPH, "天水围在哪里？", (("香港", 5),))
    made = T.make_template_questions([T.Paragraph(PARAGRAPH, "drcd-test", "drcd", "x")], seed=16)
    settings = TrainSettings(balance_styles=True, neg_keep=0.0, cross_ratio=0.0)
    prep = Prepared([real], CharTokens(), settings, made)
    examples = epoch_examples(prep, random.Random(0))
    assert len(examples) == 1 + len(made)  # the real question, then each template question once
    assert Prepared([real], CharTokens(), settings).extra_questions == []  # none unless asked
    _, parsed = parse_args(["--template-questions", "4500", "--seed", "16"])
    assert (parsed.template_count, parsed.seed) == (4500, 16)
    assert parse_args([])[1].template_count == 0
    with pytest.raises(SystemExit):
        parse_args(["--template-questions", "-1"])
