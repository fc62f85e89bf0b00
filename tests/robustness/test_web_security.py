"""Security of the served web chat (a real `python app.py`): it listens on loopback by
default, `--auth` guards every endpoint, no URL reads a file outside what Gradio itself
created for an upload, and an uploaded file name cannot choose where it is written."""
from __future__ import annotations

import json
import os
import shutil
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from robust_helpers import PROJECT, QINGXU, http_get, start_server, stop_server

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


def listening_addresses(port: int) -> set[str]:
    """The local addresses of sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found


def test_binds_loopback_only_by_default(app_server):
    addresses = listening_addresses(app_server.port)
    if not addresses:
        pytest.skip("/proc/net/tcp is not readable here")
    assert addresses == {"0100007F"}  # 127.0.0.1, not 0.0.0.0 (00000000) nor :: 


SECRETS = ["/etc/passwd", "/etc/shadow", "/proc/self/environ", str(PROJECT / "app.py"), str(PROJECT / "pyproject.toml"),
           str(PROJECT / ".git" / "config")]


def forbidden_urls(server) -> list[str]:
    index_files = [server.index_dir / "CURRENT", server.index_dir / ".lock"]
    index_files += [p for p in server.index_dir.glob("gen-*/*") if p.is_file()][:3]
    urls = []
    for target in SECRETS + [str(p) for p in index_files]:
        quoted = urllib.parse.quote(target)
        urls += [f"gradio_api/file={target}", f"gradio_api/file={quoted}", f"file={target}"]
    urls += ["gradio_api/file=../../../../../../etc/passwd", "gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
             "gradio_api/file=..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "static/../../../../etc/passwd",
             "assets/..%2f..%2f..%2f..%2fetc%2fpasswd", "gradio_api/file=~/.bashrc", "favicon.ico/../../app.py"]
    return urls


def test_no_url_reads_files_outside_the_upload_folder(app_server):
    passwd = Path("/etc/passwd").read_bytes()[:20]
    app_source = (PROJECT / "app.py").read_bytes()[:60]
    current = (app_server.index_dir / "CURRENT").read_bytes()
    for url in forbidden_urls(app_server):
        status, body = http_get(app_server.url + url)
        assert not (status == 200 and (passwd in body or app_source in body or body == current)), (url, status)
        assert status != 200 or b"root:" not in body, url


def upload(server, name: str, data: bytes) -> str:
    """POST one file to Gradio's upload route; the server-side path it was stored at."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(server.url + "gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())[0]


@pytest.mark.parametrize("name", ["../../../../tmp/zhqa-evil-upload.txt", "..\\..\\zhqa-evil-upload.txt",
                                  "/etc/zhqa-evil-upload.txt", "新闻 <b>x</b>.txt"])
def test_an_upload_name_cannot_choose_where_it_is_written(app_server, name):
    upload_root = (app_server.index_dir.parent / "gradio-uploads").resolve()
    stored = Path(upload(app_server, name, "董健是社区民警。".encode("utf-8"))).resolve()
    assert stored.is_relative_to(upload_root), stored  # inside the upload folder, whatever the name said
    assert stored.read_bytes() == "董健是社区民警。".encode("utf-8")
    assert not Path("/tmp/zhqa-evil-upload.txt").exists() and not Path("/etc/zhqa-evil-upload.txt").exists()
    assert not (PROJECT / "zhqa-evil-upload.txt").exists()
    assert not os.access(stored, os.X_OK)  # never made executable


def test_an_uploaded_page_is_not_served_as_a_page_of_the_app(app_server):
    """An uploaded .html file fetched back must not run as a page of the app's origin."""
    stored = upload(app_server, "page.html", b"<script>alert(document.cookie)</script>")
    status, _ = http_get(app_server.url + f"gradio_api/file={stored}")
    if status != 200:
        return
    request = urllib.request.Request(app_server.url + f"gradio_api/file={stored}")
    with urllib.request.urlopen(request, timeout=30) as response:
        kind = response.headers.get("Content-Type", "")
        disposition = response.headers.get("Content-Disposition", "")
    assert "attachment" in disposition or "text/html" not in kind, (kind, disposition)


# -- --auth -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def auth_server(tmp_path_factory, hostile_index_dir):
    index_dir = tmp_path_factory.mktemp("auth") / "index"
    shutil.copytree(hostile_index_dir, index_dir)
    server = start_server(index_dir, index_dir.parent / "app.log", "--auth", "alice:s3cret pass")
    try:
        yield server
    finally:
        stop_server(server)


def test_auth_guards_the_api(auth_server):
    from gradio_client import Client

    status, body = http_get(auth_server.url + "gradio_api/info")
    assert status in (401, 403), status
    status, _ = http_get(auth_server.url + "config")
    assert status in (401, 403), status
    with pytest.raises(Exception):
        Client(auth_server.url, verbose=False).predict(QINGXU, "hybrid", 5, api_name="/ask")
    with pytest.raises(Exception):
        Client(auth_server.url, auth=("alice", "wrong"), verbose=False)
    client = Client(auth_server.url, auth=("alice", "s3cret pass"), verbose=False)
    assert client.predict(QINGXU, "hybrid", 5, api_name="/ask")["answered"]


def test_nothing_of_the_app_shows_before_logging_in(auth_server):
    status, body = http_get(auth_server.url)
    assert status == 200  # the page shell, which renders the login form
    for secret in ("清徐", "蓝湖镇", "zq-chat", "002_55bd9ca71670d804"):
        assert secret.encode() not in body, secret
