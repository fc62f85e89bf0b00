"""What kind of answer a question asks for (qa/question/answer_type.py), and the sentence
evidence that carries it to the picker."""
from __future__ import annotations

import pytest

from qa.question.answer_type import asked_type, asks_list, can_answer, enumerates
from qa.text.normalize import normalize


@pytest.mark.parametrize("question, kind", [
    ("确诊了多少例？", ("count", "例")),
    ("他是哪一年出生的？", ("year", "")),
    ("什么时候开始的？", ("date", "")),
    ("他在哪个单位工作？", None),
])
def test_asked_type(question, kind):
    assert asked_type(normalize(question)) == kind


def test_a_count_needs_a_number_with_its_measure_word():
    assert can_answer(("count", "例"), "新增确诊病例3例")
    assert not can_answer(("count", "例"), "新增确诊病例若干")
    assert can_answer(None, "任何句子")


@pytest.mark.parametrize("question, wanted", [
    ("河北省公安厅的三道防线分别是什么？", True),
    ("游戏的模式有哪些？", True),
    ("津蓟铁路沿线设置了哪几个站点？", True),
    ("《战国无双3》是由哪两个公司合作开发的？", True),
    ("中國古代四大水利工程分別是哪些?", True),  # traditional, normalised first
    ("他是哪一年出生的？", False),  # 哪一 asks for one thing
    ("他是哪国人？", False),
])
def test_list_questions(question, wanted):
    assert asks_list(normalize(question)) is wanted


def test_a_sentence_enumerates_with_the_enumeration_comma():
    assert enumerates(normalize("以“外环省界、省内纵深、环京外围”三道防线为架构"))
    assert not enumerates(normalize("作为全省“三道防线”疫情防控的指挥中枢,坚守了230多天。"))


def test_the_evidence_marks_listing_sentences_only_for_list_questions(seeds_qa, seed_docs):
    from qa.answer.snippets import ranked_sentences
    from qa.question.query import make_query

    def candidates(question):
        found = seeds_qa.retrieve(make_query(question), k=5)
        return ranked_sentences(found.evidence, found.hits)

    listing = candidates("河北省公安厅的三道防线分别是什么？")
    texts = {c: normalize(seed_docs[c.hit.passage.doc_id].text[c.start:c.end]) for c in listing}
    assert any(c.fits_list for c in listing)
    assert all(c.fits_list == ("、" in texts[c]) for c in listing)
    assert not any(c.fits_list for c in candidates("河北省公安厅警务协作总队有多少名队员在前线坚守？"))


def test_who_and_what_questions_ask_for_an_identity():
    from qa.question.answer_type import asked_type, identity_subject

    assert asked_type("董健是谁？") == ("identity", "董健")
    assert identity_subject("什么是方舱医院") == "方舱医院"
    assert identity_subject("警务协作总队是什么单位？") == "警务协作总队"
    assert identity_subject("谁是总指挥") == "总指挥"
    assert identity_subject("他是谁？") is None  # a pronoun is no name: the follow-up resolves it
    assert asked_type("清徐县有多少名党员？") == ("count", "")


def test_a_sentence_that_says_who_someone_is_fits_an_identity_question():
    """The name then 是/为 and a description ending in a noun of role, also across a clause
    (他叫X,是……民警), or a role noun right before the name; not a sentence that only names them."""
    from qa.question.answer_type import asked_type, can_answer

    who = asked_type("董健是谁？")
    assert can_answer(who, "他叫董健,是石景山公安分局八宝山派出所瑞达社区的一名社区民警。")
    assert can_answer(who, "八宝山派出所社区民警董健说")
    assert not can_answer(who, "经过反复协调沟通,1月28日起,董健会同社区干部一道,对4个小区实行了封闭式管理")
    assert not can_answer(who, "董健顾不上想太多,迅速沉入社区")
    wife = asked_type("董健的妻子是做什么的？")
    assert can_answer(wife, "采访中得知,董健的妻子张艳平正是瑞达社区的居委会主任")
