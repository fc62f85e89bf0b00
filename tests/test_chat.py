"""Follow-ups in the library: QA.ask(history=...) and the `qa chat` loop give the same
answers the web chat does, from the same resolution."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

DOC004 = "004_62723c32f6056b4d.txt"  # 董健's article


def test_ask_with_history_rewrites_and_answers_from_the_earlier_subject(seeds_qa):
    """"他的妻子是做什么的？" after "董健是谁？" is asked as 董健's wife, answered from his article."""
    answer = seeds_qa.ask("他的妻子是做什么的？", history=["董健是谁？"])
    assert answer.question == "他的妻子是做什么的？"
    assert "董健" in answer.asked and answer.asked != answer.question
    assert answer.answered and answer.snippets[0].citation.doc_id == DOC004
    assert answer.to_json()["asked"] == answer.asked


def test_ask_without_history_is_unchanged(seeds_qa):
    """No history: the same answer as before follow-ups existed, and no "asked" key."""
    alone = seeds_qa.ask("董健的妻子是做什么的？")
    again = seeds_qa.ask("董健的妻子是做什么的？", history=[])
    assert alone.to_json() == again.to_json() and "asked" not in alone.to_json()


def test_history_must_be_a_list_of_questions(seeds_qa):
    from qa.errors import BadQuestion

    with pytest.raises(BadQuestion, match="history"):
        seeds_qa.ask("他的妻子是做什么的？", history="董健是谁？")
    with pytest.raises(BadQuestion, match="history"):
        seeds_qa.ask("他的妻子是做什么的？", history=[3])


def test_qa_chat_reads_follow_ups_with_the_questions_before(monkeypatch, encoder, seeds_index_dir):
    """`qa chat`: the second question is shown rewritten and answered from 董健's article; /new forgets."""
    import qa.cli
    from qa.engine import QA

    monkeypatch.setattr(qa.cli, "_engine", lambda settings: QA(settings, encoder=encoder))
    result = CliRunner().invoke(qa.cli.main, ["chat", "--index-dir", str(seeds_index_dir)],
                                input="董健是谁？\n他的妻子是做什么的？\n/new\n他的妻子是做什么的？\n\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.count("按上文理解为：") == 1 and "按上文理解为：董健" in out
    second = out.split("按上文理解为：")[1]
    assert f"· {DOC004} [" in second.split("问 >")[0]
