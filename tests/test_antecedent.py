"""A follow-up's pronoun standing for the earlier question's answer, or a plural for the
noun it counted (qa/question/followup.py, qa/question/antecedent.py)."""
from __future__ import annotations

import pytest

from qa.question.antecedent import from_answer
from qa.question.followup import EarlierAnswer, asked_referent, counted_noun, readings, resolve
from qa.records import Answer, AnswerSpan, Citation, Snippet


def _answers(**by_question: EarlierAnswer):
    """An ``answer_of`` over fixed answers that records what it was asked."""
    asked: list[str] = []

    def answer_of(question: str) -> EarlierAnswer | None:
        asked.append(question)
        return by_question.get(question)

    return answer_of, asked


def test_what_an_earlier_question_asked_for():
    assert [asked_referent(q) for q in ("焦女士是哪个社区的疑似患者？", "清徐的初篩陽性人員是在哪個鄉發現的？",
                                        "总队接到命令到哪里的前线指挥部集合？")] == ["place"] * 3
    assert [asked_referent(q) for q in ("王答鄉的鄉長是誰？", "负责信息技术工作的民警叫什么？", "哪位副总队长从警20余年？")] == ["person"] * 3
    assert asked_referent("杨文燊离家时儿子多大？") is None
    assert counted_noun("总队一夜之间增加了多少个疫情检查站？") == "疫情检查站"
    assert counted_noun("韻達分撥中心有多少名員工接受核酸檢測採樣？") == "員工"  # as typed
    assert counted_noun("董健是谁？") is None


@pytest.mark.parametrize(
    ("question", "earlier", "answer", "expected"),
    [
        # 他 is the man the answer names, not a word of the question ("哪位、从警，他的…" before)
        ("他的母亲患有什么病？", "哪位副总队长从警20余年？", EarlierAnswer("", "蔡路强", "蔡路强"), "蔡路强的母亲患有什么病？"),
        ("他说了什么？", "荆州市公安局的负责人是谁？", EarlierAnswer("", "", "王永强"), "王永强说了什么？"),
        ("她的丈夫叫什么名字？", "瑞达社区的居委会主任是谁？", EarlierAnswer("", "张艳平", "张艳平"), "张艳平的丈夫叫什么名字？"),
        # 那里 / 那裡 is the place answered
        ("那里离得有多远？", "总队接到命令到哪里的前线指挥部集合？", EarlierAnswer("", "涿州", ""), "涿州离得有多远？"),
        ("那裡的派出所抽調了幾名民警？", "初篩陽性人員是在哪個鄉發現的？", EarlierAnswer("", "王答鄉", ""), "王答鄉的派出所抽調了幾名民警？"),
    ],
)
def test_a_pronoun_stands_for_the_earlier_answer(question, earlier, answer, expected):
    answer_of, asked = _answers(**{earlier: answer})
    resolved = resolve(question, [earlier], answer_of=answer_of)
    assert resolved.query == expected and resolved.reason == "answer" and asked == [earlier]
    assert resolved.carried == (answer.person or answer.text,)
    assert readings(question, [earlier], answer_of=answer_of)[0] == resolved


@pytest.mark.parametrize(
    ("question", "earlier", "expected"),
    [
        ("它们一开始连入疫情防控网络了吗？", "总队一夜之间增加了多少个疫情检查站？", "疫情检查站一开始连入疫情防控网络了吗？"),
        ("給他們採樣的醫護人員有多少名？", "韻達分撥中心有多少名員工接受核酸檢測？", "給員工採樣的醫護人員有多少名？"),
    ],
)
def test_a_plural_stands_for_the_noun_the_earlier_question_counted(question, earlier, expected):
    answer_of, asked = _answers()
    resolved = resolve(question, [earlier], answer_of=answer_of)
    assert resolved.query == expected and resolved.reason == "pronoun"
    assert asked == []  # the question alone says it: nothing is asked of the index


def test_the_earlier_question_keeps_its_own_person():
    answer_of, asked = _answers(**{q: EarlierAnswer(q, "", "焦女士") for q in ("董健是谁？", "但建伟和谁一起去焦女士家？")})
    # the earlier question names the person: 他 is 董健, whatever the answer's sentence names
    assert resolve("他的妻子是做什么的？", ["董健是谁？"], answer_of=answer_of).query == "董健的妻子是做什么的？"
    # 董健的妻子是谁？ + 她 is 董健的妻子, as before
    kin, _ = _answers(**{"董健的妻子是谁？": EarlierAnswer("董健的妻子是谁？", "张艳平", "张艳平")})
    assert resolve("她在哪里工作？", ["董健的妻子是谁？"], answer_of=kin).query == "董健的妻子在哪里工作？"
    # a plural after a "who" question is not its answer (他们 after 总队长是谁 is the 总队)
    assert resolve("他们有多少名队员？", ["警务协作总队的总队长是谁？"], answer_of=answer_of).reason == "pronoun"
    assert asked == []
    # no answer (an honest no, or no person named): the earlier behaviour
    none, asked = _answers()
    resolved = resolve("他说了什么？", ["荆州市公安局的负责人是谁？"], answer_of=none)
    assert resolved.reason == "pronoun" and resolved.query.endswith("，他说了什么？") and asked == ["荆州市公安局的负责人是谁？"]
    # without answer_of (a caller that cannot ask), nothing changes either
    assert resolve("他说了什么？", ["荆州市公安局的负责人是谁？"]) == resolved


def _citation(start: int, end: int) -> Citation:
    return Citation("d.txt", "t", "", "", start, end)


def test_the_answer_names_the_person_nearest_its_span():
    sentence = "采访中得知,董健的妻子张艳平正是瑞达社区的居委会主任。"
    at = 100
    first = Snippet(sentence, _citation(at, at + len(sentence)), 1.0)
    span_at = at + sentence.index("张艳平")
    answer = Answer("瑞达社区的居委会主任是谁？", True, (first,), (), span=AnswerSpan("张艳平", _citation(span_at, span_at + 3), -1.0))
    assert from_answer(answer.question, answer) == EarlierAnswer(answer.question, "张艳平", "张艳平")
    # the span not claimed: the person at it is still the one the sentence names there
    shy = Answer(answer.question, True, (first,), (), span=answer.span, span_shown=False)
    assert from_answer(shy.question, shy) == EarlierAnswer(shy.question, "", "张艳平")
    # a name the question holds is not its answer
    assert from_answer("董健的妻子是谁？", answer).person == "张艳平"
    assert from_answer(answer.question, Answer(answer.question, False, (), ())) is None


def test_ask_resolves_a_pronoun_to_the_earlier_answer(seeds_qa, monkeypatch):
    answer = seeds_qa.ask("他的母亲患有什么病？", history=["哪位副总队长从警20余年？"])
    assert answer.asked == "蔡路强的母亲患有什么病？"
    assert answer.answered and "阿尔茨海默病" in answer.snippets[0].text
    place = seeds_qa.followup_readings("那里离得有多远？", ["总队接到命令到哪里的前线指挥部集合？"])
    assert place[0].query == "涿州离得有多远？" and place[0].reason == "answer"
    # the earlier answer is remembered: the next turn of the chat does not ask it again
    def no_second_ask(*args, **kwargs):
        raise AssertionError("the earlier question was asked again")

    monkeypatch.setattr(seeds_qa, "ask", no_second_ask)
    assert seeds_qa.resolve_followup("他的父亲身体怎么样？", ["哪位副总队长从警20余年？"]).query == "蔡路强的父亲身体怎么样？"
