"""Hostile content in a real browser (Playwright + the system's Chromium) against the served
app: an article and a question full of HTML, Markdown links and images, script URLs and
template syntax show as text; nothing runs, nothing loads, no link points at a script."""
from __future__ import annotations

import pytest
from robust_helpers import HOSTILE_FACT, HOSTILE_QUESTION

MARKDOWN_QUESTION = "[蓝湖镇](javascript:alert(5)) 的**吉祥物**是什么？ ![x](http://127.0.0.1:9/q.png) <b onmouseover=alert(6)>呢</b> ${alert(7)}"
ANSWER_TIMEOUT = 60_000  # ms; a question takes about a second
# After everything is shown, how long anything that would run later (an image's onerror once
# its load fails, a deferred script) has to show itself before "nothing ran" is concluded.
# Loopback port 9 refuses at once, so this is generous; it can only let a fault through
# unseen, never fail a good run.
QUIET_WINDOW = 1_000  # ms

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


@pytest.fixture(scope="module")
def page(chromium_launch, app_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(**chromium_launch)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        pg.dialogs, pg.outside = [], []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        pg.on("request", lambda r: pg.outside.append(r.url) if ":9/" in r.url else None)
        pg.goto(app_server.url)
        pg.wait_for_selector("#zq-question textarea")
        yield pg
        browser.close()


def ask(pg, question):
    before = pg.locator("#zq-chat .zq-answer").count()
    pg.fill("#zq-question textarea", question)
    pg.press("#zq-question textarea", "Enter")
    pg.wait_for_function(f"document.querySelectorAll('#zq-chat .zq-answer').length > {before}", timeout=ANSWER_TIMEOUT)
    return pg.locator("#zq-chat .zq-answer").nth(before)


def assert_inert(pg, where: str) -> None:
    assert pg.locator(f"{where} img, {where} script, {where} strong:not(.zq-title)").count() == 0
    hrefs = pg.eval_on_selector_all(f"{where} a", "els => els.map(e => e.getAttribute('href') || '')")
    assert not [h for h in hrefs if not h.startswith("#zq/")], hrefs
    assert pg.eval_on_selector_all(f"{where} *", "els => els.filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length") == 0


def test_markdown_and_html_in_a_question_and_an_article_stay_text(page):
    from playwright.sync_api import expect

    answer = ask(page, MARKDOWN_QUESTION)
    chat = page.locator("#zq-chat")
    for literal in ("[蓝湖镇](javascript:alert(5))", "**吉祥物**", "${alert(7)}"):  # waits until shown, as text
        expect(chat).to_contain_text(literal, timeout=ANSWER_TIMEOUT)
    expect(answer).to_contain_text(HOSTILE_FACT[:8], timeout=ANSWER_TIMEOUT)
    ask(page, HOSTILE_QUESTION)
    assert_inert(page, "#zq-chat")
    assert_inert(page, "#zq-why")
    page.locator("#zq-chat .zq-snippet a.zq-cite").last.click()  # the hostile article, in full
    page.wait_for_selector("#zq-article mark#zq-hl")
    article = page.inner_text("#zq-article")
    assert "<script>alert('title')</script>" in article and "[点这里](javascript:alert(1))" in article
    assert "![图](http://127.0.0.1:9/pixel.png)" in article and "{{7*7}}" in article
    assert_inert(page, "#zq-article")
    page.wait_for_timeout(QUIET_WINDOW)  # a window for anything to fire, not a wait for a state
    assert page.dialogs == [] and page.outside == []
