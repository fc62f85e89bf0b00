"""Every example question the chat offers (qa.web.assets.EXAMPLES) is answered right: the
first extract is the article's sentence that answers it, and a span claimed as the answer
(bold) is the expected one, never a wrong phrase."""
from __future__ import annotations

import pytest

from qa.web.assets import EXAMPLES

DOC002, DOC003, DOC004 = "002_55bd9ca71670d804.txt", "003_747ace748feff19e.txt", "004_62723c32f6056b4d.txt"

# question -> (its article, a stretch of the sentence that answers it, the answer inside that
# sentence), copied from the article; ALSO: another sentence that answers it as well
EXPECTED = {
    "清徐县是在哪里发现初筛阳性人员的？": (DOC002, "韻達快遞物流園發(fā)現初篩陽性人員", "韻達快遞物流園"),
    "董健是谁？": (DOC004, "他叫董健,是石景山公安分局八宝山派出所瑞达社区的一名社区民警",
                 "石景山公安分局八宝山派出所瑞达社区的一名社区民警"),
    "董健的妻子是做什么的？": (DOC004, "董健的妻子张艳平正是瑞达社区的居委会主任", "瑞达社区的居委会主任"),
    "李楠的孩子生病时他在做什么？": (DOC003, "期間孩子生病也無暇照顧", "回到工作崗位上埋頭苦幹"),
    "清徐縣有多少名黨員深入抗疫一線？": (DOC002, "8200余名黨員深入抗疫一線", "8200余名"),
    "How many party members went to the front line in Qingxu?": (DOC002, "8200余名黨員深入抗疫一線", "8200余名"),
}
# "went to the front line" is also, word for word, the 5000 county-organ members who 下沉一線
# for the Hedong testing: the English question, less specific than the Chinese, has two answers.
ALSO = {"How many party members went to the front line in Qingxu?": (DOC002, "5000余名黨員下沉一線", "5000余名")}


def test_every_example_has_its_expected_answer(seed_docs):
    assert set(EXPECTED) == set(EXAMPLES)
    for doc, sentence, gold in [*EXPECTED.values(), *ALSO.values()]:
        text = seed_docs[doc].text
        assert sentence in text and gold in text[text.index(sentence) - 40 : text.index(sentence) + 80]


@pytest.mark.parametrize("question", EXAMPLES)
def test_example_question_is_answered_right(seeds_qa, question):
    from qa.evaluate.run import contains_answer
    from qa.read.data import f1_score

    answer = seeds_qa.ask(question)
    assert answer.answered, question
    first = answer.snippets[0]
    expected = [e for e in (EXPECTED[question], ALSO.get(question)) if e is not None]
    matching = [e for e in expected if first.citation.doc_id == e[0] and contains_answer(first.text, e[1])]
    assert matching, (question, first.text)
    doc, sentence, gold = matching[0]
    span = answer.claimed_span
    if span is not None:  # a claimed span is the expected answer, or a part of it
        assert contains_answer(gold, span.text) or contains_answer(span.text, gold), (question, span.text)
        assert f1_score(span.text, (gold,)) >= 0.5, (question, span.text)
    assert answer.to_json()["confidence"] == answer.confidence


def test_who_question_shows_the_sentence_that_says_who(seeds_qa):
    """"董健是谁？": the sentence that says who he is comes first, and no phrase cut from
    another sentence (the old "董健会") is shown in bold."""
    answer = seeds_qa.ask("董健是谁？")
    assert "一名社区民警" in answer.snippets[0].text
    assert answer.claimed_span is None or "董健会" not in answer.claimed_span.text
