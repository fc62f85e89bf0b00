"""Hostile content in a real browser (Playwright + the system's Chromium) against the served
app: an article and a question full of HTML, Markdown links and images, script URLs and
template syntax show as text; nothing runs, nothing loads, no link points at a script."""
from __future__ import annotations

from pathlib import Path

import pytest

from robust_helpers import HOSTILE_FACT, HOSTILE_QUESTION

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update"]
MARKDOWN_QUESTION = "[蓝湖镇](javascript:alert(5)) 的**吉祥物**是什么？ ![x](http://127.0.0.1:9/q.png) <b onmouseover=alert(6)>呢</b> ${alert(7)}"

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium"),
              pytest.mark.filterwarnings("ignore::Warning")]


@pytest.fixture(scope="module")
def page(app_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
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
    pg.wait_for_function(f"document.querySelectorAll('#zq-chat .zq-answer').length > {before}", timeout=60_000)
    return pg.locator("#zq-chat .zq-answer").nth(before)


def assert_inert(pg, where: str) -> None:
    assert pg.locator(f"{where} img, {where} script, {where} strong:not(.zq-title)").count() == 0
    hrefs = pg.eval_on_selector_all(f"{where} a", "els => els.map(e => e.getAttribute('href') || '')")
    assert not [h for h in hrefs if not h.startswith("#zq/")], hrefs
    assert pg.eval_on_selector_all(f"{where} *", "els => els.filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length") == 0


def test_markdown_and_html_in_a_question_and_an_article_stay_text(page):
    answer = ask(page, MARKDOWN_QUESTION)
    page.wait_for_timeout(300)
    chat = page.inner_text("#zq-chat")
    assert "[蓝湖镇](javascript:alert(5))" in chat and "**吉祥物**" in chat and "${alert(7)}" in chat
    assert HOSTILE_FACT[:8] in answer.inner_text()
    ask(page, HOSTILE_QUESTION)
    assert_inert(page, "#zq-chat")
    assert_inert(page, "#zq-why")
    page.locator("#zq-chat .zq-snippet a.zq-cite").last.click()  # the hostile article, in full
    page.wait_for_selector("#zq-article mark#zq-hl")
    article = page.inner_text("#zq-article")
    assert "<script>alert('title')</script>" in article and "[点这里](javascript:alert(1))" in article
    assert "![图](http://127.0.0.1:9/pixel.png)" in article and "{{7*7}}" in article
    assert_inert(page, "#zq-article")
    page.wait_for_timeout(500)
    assert page.dialogs == [] and page.outside == []
