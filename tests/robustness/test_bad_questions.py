"""Bad questions, at every door (library, CLI, web API): each is refused in one clear line
or answered sanely (every extract verbatim from its article), never a crash."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from robust_helpers import HOSTILE_DOC, QINGXU, QINGXU_DOC, one_line

from qa.errors import BadQuestion

REFUSED = {
    "empty": "",
    "blank": " \t\n\u3000 ",
    "punctuation-only": "？！。，、……——“”《》?!.,;:",
    "emoji-only": "😀🎉👍🏽🇨🇳❤️",
    "100000-chars": "问" * 100_000,
    "control-chars": "\x01\x02\x03\x07\x08\x1b\x7f",
    "nul-bytes": "\x00" * 10,
    "zero-width-only": "\u200b\u200c\u200d\ufeff",
}

# Questions that are messy but mean something: each must be answered from QINGXU_DOC.
ANSWERED = {
    "nul-inside": "清徐县\x00是在哪里发现\x00初筛阳性人员的？",
    "control-inside": "清徐县\x07是在哪里\x1b发现初筛阳性人员的？\x7f",
    "mixed-scripts": "清徐縣 Qingxu 是在哪里发现初篩陽性人員的？ where?",
    "full-width": "清徐县是在哪里发现初筛阳性人员的？？？　ＱＩＮＧＸＵ",
    "html-injection": "<script>alert(1)</script><img src=x onerror=alert(2)>清徐县是在哪里发现初筛阳性人员的？",
    "markdown-injection": "[清徐县](javascript:alert(1)) **是在哪里** ![x](http://127.0.0.1:9/x.png) 发现初筛阳性人员的？",
    "template-injection": "{{7*7}} ${alert(1)} 清徐县是在哪里发现初筛阳性人员的？",
}


def assert_verbatim(answer, documents) -> None:
    for snippet in answer.snippets:
        c = snippet.citation
        assert documents[c.doc_id].text[c.start:c.end] == snippet.text
    for hit in answer.hits:
        assert documents[hit.passage.doc_id].text[hit.passage.start:hit.passage.end] == hit.passage.text


@pytest.mark.parametrize("question", list(REFUSED.values()), ids=list(REFUSED))
def test_library_refuses_in_one_sentence(seeds_qa, question):
    with pytest.raises(BadQuestion) as caught:
        seeds_qa.ask(question)
    message = str(caught.value)
    assert one_line(message) and message[-1] in ".？" and len(message) < 200


def test_overlong_question_names_its_length_and_the_limit(seeds_qa):
    with pytest.raises(BadQuestion, match="100000 characters long; shorten it to at most 2000"):
        seeds_qa.ask("问" * 100_000)


@pytest.mark.parametrize("question", list(ANSWERED.values()), ids=list(ANSWERED))
def test_messy_questions_are_answered_verbatim(seeds_qa, question):
    answer = seeds_qa.ask(question)
    assert answer.answered, question
    assert answer.snippets[0].citation.doc_id == QINGXU_DOC
    assert_verbatim(answer, seeds_qa.data().documents)
    # reported back as asked, less control characters (NUL would end a C string downstream)
    assert answer.to_json()["question"] == re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", question).strip()


def test_markup_only_question_is_searched_as_typed_not_refused(seeds_qa):
    """Markup alone is matched as typed (qa.retrieve's deliberate fallback), not refused;
    whatever comes back is verbatim."""
    answer = seeds_qa.ask("<script></script><img src=x onerror=alert(1)>")
    assert_verbatim(answer, seeds_qa.data().documents)


def test_html_and_markdown_injection_do_not_change_what_is_retrieved(seeds_qa):
    """Tags, link targets and image URLs are not matched: the same passages come first."""
    clean = [h.passage.pid for h in seeds_qa.ask(QINGXU).hits]
    for name in ("html-injection", "markdown-injection"):
        assert [h.passage.pid for h in seeds_qa.ask(ANSWERED[name]).hits][:3] == clean[:3]


pieces = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
    st.sampled_from(["清徐县", "董健", "是谁", "在哪里", "？", "！", "<script>", "</b>", "](javascript:", "![", "**",
                     "\x00", "\x1b", "\n", "\t", " ", "😀", "\u202e", "\u200b", "${", "}}", "Qingxu"]),
)
questions = st.lists(pieces, max_size=12).map("".join)


@settings(max_examples=60)
@given(question=questions)
def test_any_text_is_refused_in_one_line_or_answered_verbatim(seeds_qa, question):
    try:
        answer = seeds_qa.ask(question)
    except BadQuestion as exc:
        assert one_line(str(exc))
        return
    assert_verbatim(answer, seeds_qa.data().documents)
    json.dumps(answer.to_json(), ensure_ascii=False)  # the API's JSON can always be made


CLI_REFUSED = {k: v for k, v in REFUSED.items() if k not in ("100000-chars", "nul-bytes")}
CLI_REFUSED["100000-chars"] = "a" * 100_000  # argv holds at most 128 KiB per argument: ASCII fits


@pytest.mark.parametrize("question", list(CLI_REFUSED.values()), ids=list(CLI_REFUSED))
def test_cli_refuses_in_one_line(qa_bin, cli_env, seeds_index_dir, question):
    result = subprocess.run([qa_bin, "ask", question, "--index-dir", str(seeds_index_dir)],
                            env=cli_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert one_line(result.stderr) and result.stderr.startswith("error: ")


def test_cli_answers_a_messy_question_as_json(qa_bin, cli_env, seeds_index_dir, seed_docs):
    question = ANSWERED["markdown-injection"]
    result = subprocess.run([qa_bin, "ask", question, "--json", "--index-dir", str(seeds_index_dir)],
                            env=cli_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["question"] == question and out["answered"]
    for s in out["snippets"]:
        assert seed_docs[s["doc_id"]].text[s["start"]:s["end"]] == s["text"]


# -- the web API, served by a real app.py ----------------------------------------------------
@pytest.fixture(scope="module")
def client(app_server):
    from gradio_client import Client

    return Client(app_server.url, verbose=False)


@pytest.mark.parametrize("question", list(REFUSED.values()), ids=list(REFUSED))
def test_api_refuses_in_one_line_and_keeps_serving(client, question):
    with pytest.raises(Exception) as caught:
        client.predict(question, "hybrid", 5, api_name="/ask")
    message = str(caught.value)
    assert one_line(message) and ("question" in message.lower())
    assert client.predict(QINGXU, "hybrid", 5, api_name="/ask")["answered"]  # the server is still fine


@pytest.mark.parametrize("mode, k", [("fuzzy", 5), ("hybrid", 0), ("hybrid", 10_000), ("hybrid", "many"), (None, 5)])
def test_api_refuses_bad_settings_in_one_line(client, mode, k):
    with pytest.raises(Exception) as caught:
        client.predict(QINGXU, mode, k, api_name="/ask")
    assert one_line(str(caught.value))


@pytest.mark.parametrize("question", list(ANSWERED.values()), ids=list(ANSWERED))
def test_api_answers_messy_questions(client, question):
    result = client.predict(question, "hybrid", 5, api_name="/ask")
    assert result["answered"] and result["snippets"][0]["doc_id"] == QINGXU_DOC
    assert result["question"] == re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", question).strip()


def test_api_serves_hostile_article_text_as_data(client):
    """The API returns the article's markup as plain JSON text (escaping is the renderer's job)."""
    from robust_helpers import HOSTILE_FACT, HOSTILE_QUESTION

    result = client.predict(HOSTILE_QUESTION, "hybrid", 5, api_name="/ask")
    assert result["answered"] and result["snippets"][0]["doc_id"] == HOSTILE_DOC
    assert HOSTILE_FACT[:10] in result["snippets"][0]["text"]
