"""Follow-up questions are rewritten with what the conversation was about (qa.question.followup)."""
from __future__ import annotations

import pytest

from qa.errors import BadQuestion
from qa.question.followup import entities, key_terms, readings, resolve


@pytest.mark.parametrize(
    ("question", "previous", "expected"),
    [
        # a pronoun gets the person the last question named
        ("他的妻子是做什么的？", ["董健是谁？"], "董健的妻子是做什么的？"),
        ("其妻子是做什么的？", ["董健是谁？"], "董健的妻子是做什么的？"),
        ("此人是谁？", ["刘景业是什么职务？"], "刘景业是谁？"),
        # 她 after a question about 董健的妻子 is the wife, not 董健
        ("她在哪里工作？", ["董健是谁？", "董健的妻子是做什么的？"], "董健的妻子在哪里工作？"),
        # places and 该县
        ("该县有多少党员？", ["清徐县是在哪里发现初筛阳性人员的？"], "清徐县有多少党员？"),
        ("那里发生了什么？", ["清徐县是在哪里发现初筛阳性人员的？"], "清徐县发生了什么？"),
        # several people: all of them, in traditional script as typed
        ("他們為什麼不回家？", ["張晗和蔡路強是誰？"], "張晗、蔡路強為什麼不回家？"),
        # an ellipsis takes the earlier question with the new subject
        ("那李楠呢？", ["董健的妻子是做什么的？"], "李楠的妻子是做什么的？"),
        # very short questions and unreplaceable references are prefixed with the topic
        ("为什么？", ["董健是谁？"], "董健，为什么？"),
        ("妻子呢？", ["董健是谁？"], "董健，妻子呢？"),
        ("这位民警叫什么？", ["董健是谁？"], "董健，这位民警叫什么？"),
        # English follow-ups, after Chinese or English questions
        ("What did his wife do?", ["董健是谁？"], "What did 董健's wife do?"),
        ("What did he do?", ["Who is Dong Jian?"], "What did Dong Jian do?"),
    ],
)
def test_follow_ups_are_rewritten(question, previous, expected):
    resolved = resolve(question, previous)
    assert resolved.query == expected
    assert resolved.rewritten
    assert resolved.note() == f"按上文理解为：{expected}"
    assert resolved.carried and all(term in resolved.query for term in resolved.carried)


@pytest.mark.parametrize(
    ("question", "previous"),
    [
        ("他的妻子是做什么的？", []),  # nothing to refer to
        ("李楠的孩子生病时他在做什么？", ["董健是谁？"]),  # 他 is 李楠, named in the question
        ("清徐县是在哪里发现初筛阳性人员的？", ["董健是谁？"]),  # a complete question
        ("黨旗所指 一往無前 說的是哪個縣？", ["董健是谁？"]),
        ("How many party members went to the front line in Qingxu?", ["董健是谁？"]),
        ("其他人还做了什么工作？", ["董健是谁？"]),  # 其他 is not 其, 他
        ("应该如何做好社区防控？", ["董健是谁？"]),  # 应该 is not 该
        ("他的妻子是做什么的？", ["今天", "好的"]),  # nothing worth carrying
        ("", ["董健是谁？"]),
        ("？？", ["董健是谁？"]),  # nothing to search for stays an error, not a question about 董健
    ],
)
def test_questions_that_stand_alone_are_kept(question, previous):
    resolved = resolve(question, previous)
    assert resolved.query == question
    assert not resolved.rewritten
    assert resolved.note() == ""
    assert resolved.carried == ()


def test_the_newest_earlier_question_with_a_topic_is_used():
    assert resolve("他的妻子是做什么的？", ["李楠是谁？", "董健是谁？"]).query == "董健的妻子是做什么的？"
    # a question without names in between does not hide the older one
    assert resolve("他的妻子是做什么的？", ["董健是谁？", "为什么？"]).query.startswith("董健")


def test_rewrites_build_on_rewritten_questions():
    first = resolve("他的妻子是做什么的？", ["董健是谁？"])
    second = resolve("那李楠呢？", ["董健是谁？", first.query])
    assert second.query == "李楠的妻子是做什么的？"


def test_without_names_the_weightiest_terms_are_carried():
    weights = {"初筛": 3.0, "阳性": 2.5, "人员": 0.5, "发现": 1.0}
    resolved = resolve("它在哪里？", ["初筛阳性人员在哪里发现？"], weight=lambda t: weights.get(t, 0.0))
    assert resolved.carried == ("初筛", "阳性")
    # 它 may stand for any of them: they are put in front, not in its place
    assert resolved.query == "初筛、阳性，它在哪里？"
    # a person pronoun is not replaced by mere terms: they are put in front
    assert resolve("他做了什么？", ["初筛阳性人员在哪里发现？"], weight=lambda t: weights.get(t, 0.0)).query == "初筛、阳性，他做了什么？"


def test_entities_and_key_terms():
    assert entities("董健的妻子是做什么的？") == ["董健"]
    assert entities("Who is Dong Jian?") == ["Dong Jian"]
    assert "清徐县" in entities("清徐县是在哪里发现初筛阳性人员的？")
    assert key_terms("董健是谁？") == ["董健"]
    # 清徐县 and 清徐 are one term, not two
    assert key_terms("清徐县的初筛怎么样", weight=None, n=2).count("清徐") == 0


def test_resolve_is_pure():
    args = ("他的妻子是做什么的？", ("董健是谁？",))
    assert resolve(*args) == resolve(*args)


@pytest.mark.parametrize(
    ("question", "previous", "expected"),
    [
        # a name jieba cuts into characters (杨/文/燊) is still the name
        ("他离家的时候儿子多大？", ["杨文燊是几零后？"], "杨文燊离家的时候儿子多大？"),
        # 那個小隊 / 這些物資: the earlier question's longer noun with the same head
        ("那個小隊有多少人？", ["應急小隊連續搬運了多久？"], "應急小隊有多少人？"),
        ("這些物資堆放在哪裡？", ["4月13日深夜有多少車防疫物資運到清徐？"], "防疫物資堆放在哪裡？"),
        # 那里 is the place with its noun (瑞达社区, not 瑞达)
        ("那里有多少家商场超市？", ["瑞达社区分为几个小区？"], "瑞达社区有多少家商场超市？"),
        # an ellipsis that repeats what follows the name replaces it too
        ("那蔡路强的妻子呢？", ["张晗的妻子原来做什么工作？"], "蔡路强的妻子原来做什么工作？"),
        # 他们 after 董健的妻子 is both of them
        ("他们俩被称为什么？", ["董健的妻子是谁？"], "董健、妻子，他们俩被称为什么？"),
    ],
)
def test_references_to_nouns_and_split_names(question, previous, expected):
    assert resolve(question, previous).query == expected


def test_a_thing_pronoun_is_never_replaced_by_a_list_of_terms():
    # the earlier question names nobody and counts nothing: 它们 could be the 指挥部 or what it revoked
    resolved = resolve("为什么撤销它们？", ["2月下旬指挥部撤销了什么？"])
    assert resolved.query.endswith("，为什么撤销它们？") and resolved.reason == "pronoun"
    # after a question that counted them, 它们 are what it counted (tests/test_antecedent.py)
    assert resolve("为什么撤销它们？", ["2月下旬指挥部撤销了多少个检查站点？"]).query == "为什么撤销检查站点？"


def test_readings_of_a_follow_up():
    rewrite, typed, context = readings("他的妻子是做什么的？", ["董健是谁？"])
    assert rewrite.query == "董健的妻子是做什么的？" and rewrite.reason == "pronoun"
    assert typed.query == "他的妻子是做什么的？" and not typed.rewritten
    assert context.query == "董健是谁？ 董健的妻子是做什么的？" and context.reason == "context"
    # what a follow-up leaves unsaid is read after the earlier question
    assert [r.query for r in readings("为什么要这样做？", ["转运送治民警要按照什么标准清洁消毒？"])] == [
        "为什么要这样做？", "转运送治民警要按照什么标准清洁消毒？ 为什么要这样做？"]
    # a question naming its own subject starts a new topic; no history, no context
    assert [r.query for r in readings("清徐县是在哪里发现初筛阳性人员的？", ["董健是谁？"])] == ["清徐县是在哪里发现初筛阳性人员的？"]
    assert [r.query for r in readings("他的妻子是做什么的？", [])] == ["他的妻子是做什么的？"]
    # a rewritten ellipsis is not also asked as typed: 那李楠呢？ alone finds any sentence naming him
    assert [(r.query, r.reason) for r in readings("那李楠呢？", ["刘景业是什么职务？"])] == [
        ("李楠是什么职务？", "ellipsis"), ("刘景业是什么职务？ 李楠是什么职务？", "context")]


def test_an_ellipsis_asks_the_earlier_question_of_its_new_subject(seeds_qa):
    # fu-tune-29: as typed, 那李楠呢？ was answered with a sentence that only names him
    answer = seeds_qa.ask("那李楠呢？", history=["刘景业是什么职务？"])
    assert answer.answered and answer.asked == "李楠是什么职务？"
    assert "治安防控組" in answer.snippets[0].text


def test_ask_answers_a_follow_up_from_the_conversations_article(seeds_qa):
    answer = seeds_qa.ask("他的妻子是做什么的？", history=["董健是谁？"])
    assert answer.answered and answer.question == "他的妻子是做什么的？"
    assert "董健" in answer.asked
    assert answer.snippets[0].citation.doc_id == "004_62723c32f6056b4d.txt"
    assert "居委会主任" in answer.snippets[0].text
    with pytest.raises(BadQuestion, match="history must be a list"):
        seeds_qa.ask("他的妻子是做什么的？", history="董健是谁？")


@pytest.mark.slow
def test_held_out_follow_ups(seeds_qa):
    """The held-out conversations (eval/followups-heldout.jsonl, never tuned on): measured
    29 of 36 last turns answered first, against 25 asked alone and 26 with the rewrite
    before readings; allow two conversations' slack, and stay above asking alone."""
    from pathlib import Path

    from qa.evaluate.conversations import evaluate_conversations, load_conversations

    conversations = load_conversations(Path(__file__).resolve().parent.parent / "eval" / "followups-heldout.jsonl")
    assert len(conversations) >= 30
    report = evaluate_conversations(seeds_qa, conversations)
    print("\n" + report.table())
    assert report.count("history") >= 27
    assert report.count("history") > report.count("alone")
    assert report.rate("history", "doc_hit") >= 0.9


def test_conversation_files_hold_gold_answers_from_their_articles(seed_docs, tmp_path):
    from pathlib import Path

    from qa.errors import CorpusError
    from qa.evaluate.conversations import contains_answer, load_conversations

    folder = Path(__file__).resolve().parent.parent / "eval"
    tune, held_out = (load_conversations(folder / f"followups-{name}.jsonl") for name in ("tune", "heldout"))
    assert len(tune) >= 20 and len(held_out) >= 30
    assert not {c.last.question for c in tune} & {c.last.question for c in held_out}
    for conversation in tune + held_out:
        assert len(conversation.turns) >= 2 and conversation.history == [t.question for t in conversation.turns[:-1]]
        for turn in conversation.turns:
            assert contains_answer(seed_docs[turn.doc].text, turn.answer), (conversation.id, turn)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "turns": [{"question": "董健是谁？", "doc": "d", "answer": "a"}]}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match="bad.jsonl:1"):
        load_conversations(bad)
