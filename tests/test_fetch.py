"""Issue 15, part 5: pages by URL, against a local HTTP server on 127.0.0.1 serving
../shared/eval/web-pages. Only http(s), a timeout, a size cap, bounded redirects, loopback and
private addresses refused unless allowed; the fetched bytes kept, the URL in the citation."""
from __future__ import annotations

import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qa.ingest.fetch import FetchError, fetch, is_url
from qa.ingest.load import load_corpus
from qa.records import Citation

PAGES = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "web-pages" / "original"
pytestmark = pytest.mark.skipif(not PAGES.is_dir(), reason=f"{PAGES} is missing (the shared evaluation sets sit beside the project)")


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(PAGES), **kwargs)

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        if self.path.startswith("/redirect/"):
            left = int(self.path.rsplit("/", 1)[1])
            self.send_response(302)
            target = f"/redirect/{left - 1}" if left > 1 else "/" + sorted(p.name for p in PAGES.glob("*.html"))[0]
            self.send_header("Location", target)
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(3)
        if self.path == "/archive.zip":
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.end_headers()
            self.wfile.write(b"PK\x03\x04")
            return
        if self.path == "/to-file":
            self.send_response(301)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        super().do_GET()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """Stay quiet: a client that gave up (the timeout test) leaves a broken pipe behind, as expected."""


@pytest.fixture(scope="module")
def server():
    httpd = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_loopback_is_refused_unless_allowed(server):
    page = sorted(PAGES.glob("*.html"))[0].name
    with pytest.raises(FetchError, match="loopback or reserved address .*--allow-private-urls"):
        fetch(f"{server}/{page}")
    for address in ("http://10.0.0.1/", "http://[::1]/", "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(FetchError, match="private, loopback or reserved"):
            fetch(address)
    assert fetch(f"{server}/{page}", allow_private=True).data == (PAGES / page).read_bytes()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a.html", "gopher://x/"])
def test_only_http_and_https(url):
    assert is_url(url)
    with pytest.raises(FetchError, match="only http:// and https://"):
        fetch(url, allow_private=True)


def test_redirects_are_followed_checked_and_bounded(server):
    first = sorted(PAGES.glob("*.html"))[0]
    got = fetch(f"{server}/redirect/3", allow_private=True)
    assert got.url.endswith(first.name) and got.data == first.read_bytes() and got.suffix == ".html"
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(f"{server}/redirect/9", allow_private=True)
    with pytest.raises(FetchError, match="only http:// and https://"):
        fetch(f"{server}/to-file", allow_private=True)  # a redirect cannot leave http(s)


def test_size_cap_timeout_and_content_type(server):
    page = max(PAGES.glob("*.html"), key=lambda p: p.stat().st_size)
    with pytest.raises(FetchError, match="over the 0 MB limit"):
        fetch(f"{server}/{page.name}", allow_private=True, max_bytes=1000)
    started = time.monotonic()
    with pytest.raises(FetchError, match="no answer within 1 s"):
        fetch(f"{server}/slow", allow_private=True, timeout=1.0)
    assert time.monotonic() - started < 2.5
    with pytest.raises(FetchError, match="serves application/zip, not a web page"):
        fetch(f"{server}/archive.zip", allow_private=True)
    with pytest.raises(FetchError, match="answered 404"):
        fetch(f"{server}/missing.html", allow_private=True)


def test_all_web_pages_load_by_url(server, tmp_path):
    """Every page of the set is indexed by URL: the bytes kept as its source, the URL its id
    and on its citation, the same text as the file gives."""
    names = sorted(p.name for p in PAGES.glob("*.html"))
    urls = [f"{server}/{name}" for name in names]
    result = load_corpus(urls + ["http://127.0.0.1:1/refused.html"], allow_private_urls=False, fetched_dir=tmp_path)
    assert result.documents == []  # none without the flag
    assert len(result.skipped) == len(urls) + 1
    result = load_corpus(urls, allow_private_urls=True, fetched_dir=tmp_path / "fetched")
    by_file = {d.id: d for d in load_corpus([PAGES]).documents}
    assert len(result.documents) == len(names)
    for name, doc in zip(names, result.documents):
        assert doc.id == doc.url == f"{server}/{name}"
        assert Path(doc.path).parent == tmp_path / "fetched" and Path(doc.path).read_bytes() == (PAGES / name).read_bytes()
        assert (doc.text, doc.title, doc.date) == (by_file[name].text, by_file[name].title, by_file[name].date)


def test_qa_index_url_end_to_end(server, tmp_path, encoder):
    from click.testing import CliRunner

    from qa import cli
    from qa.engine import QA
    from qa.settings import Settings

    name = "0ef8393b-0415-494c-b608-1d45bb33c6fb.html"  # RFI's press review, 2022-02-06
    url = f"{server}/{name}"
    index_dir = tmp_path / "index"
    refused = CliRunner().invoke(cli.main, ["index", url, "--index-dir", str(index_dir)])
    assert refused.exit_code == 1
    assert "--allow-private-urls" in refused.output and "Traceback" not in refused.output
    qa = QA(Settings(index_dir=index_dir), encoder=encoder)
    report = qa.index([url], allow_private_urls=True)
    assert report.added == [url]
    answer = qa.ask("马克龙星期一在哪里与普京会面？", k=3)
    hit = answer.hits[0]
    assert hit.citation.doc_id == url and hit.citation.date == "2022-02-06"
    assert "莫斯科" in hit.passage.text
    # the document keeps the URL for its citation (Citation.of fills it in)
    doc = qa.data().documents[url]
    assert Citation.of(doc, hit.passage.start, hit.passage.end).url == url
    assert Path(doc.path).read_bytes() == (PAGES / name).read_bytes() and Path(doc.path).parent == index_dir / "fetched"
