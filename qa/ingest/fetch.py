"""Pages by URL: ``qa index https://…`` and the web chat's URL box. Only http(s); a timeout,
a size cap and a bounded number of redirects; addresses on this machine or its private
networks are refused (every redirect hop is checked too) unless the caller allows them.
The fetched bytes are kept as the document's source file and the URL goes in its citation.

Limitation: the address is checked when the name is resolved, and the connection resolves
it again, so a DNS server that answers differently the second time (DNS rebinding) is not
stopped; run the indexer where private services are firewalled if that matters."""
from __future__ import annotations

import hashlib
import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 20.0  # seconds for the whole fetch
MAX_BYTES = 10 * 1024 * 1024  # what the web chat accepts as an upload
MAX_REDIRECTS = 5
USER_AGENT = "zhqa/0.1 (+question answering over Chinese news)"

# Content types we index, and how each is read (load.load_bytes by suffix).
_TYPES = {
    "text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt", "text/markdown": ".md",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


class FetchError(ValueError):
    """A URL that cannot or may not be fetched; the message is one sentence saying why."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    data: bytes
    content_type: str
    suffix: str  # how to read the bytes: .html, .txt, .md, .pdf, .docx


def is_url(text: str) -> bool:
    """True for what should be fetched rather than read from disk (any scheme://)."""
    return "://" in str(text)[:12]


def _check_address(host: str, port: int, allow_private: bool) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host!r}; check the address") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not allow_private and not address.is_global:
            raise FetchError(f"{host} is a private, loopback or reserved address ({address}); "
                             "refused unless you pass --allow-private-urls")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # each hop is checked and followed by fetch() itself


def fetch(url: str, allow_private: bool = False, timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES,
          max_redirects: int = MAX_REDIRECTS) -> Fetched:
    """GET ``url``; raises FetchError with one sentence on any refusal or failure."""
    opener = urllib.request.build_opener(_NoRedirect)
    deadline = time.monotonic() + timeout
    for _ in range(max_redirects + 1):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"only http:// and https:// addresses can be indexed, not {parts.scheme or 'this'}://")
        if not parts.hostname:
            raise FetchError("the address has no host name; give a full https://… address")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise FetchError("the address has an invalid port") from exc
        _check_address(parts.hostname, port, allow_private)
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/pdf,*/*;q=0.5"})
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchError(f"no answer within {timeout:.0f} s; try again later")
        try:
            response = opener.open(request, timeout=left)
        except urllib.error.HTTPError as exc:
            if exc.code in (301, 302, 303, 307, 308) and exc.headers.get("Location"):
                url = urllib.parse.urljoin(url, exc.headers["Location"])
                exc.close()
                continue
            raise FetchError(f"the server answered {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise FetchError(f"no answer within {timeout:.0f} s; try again later") from exc
            raise FetchError(f"cannot connect ({reason}); check the address") from exc
        with response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"the page is {int(declared) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit")
            chunks, size = [], 0
            try:
                while True:
                    if time.monotonic() > deadline:
                        raise FetchError(f"the page did not arrive within {timeout:.0f} s; try again later")
                    chunk = response.read(64 * 1024)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(f"the page is over the {max_bytes / 1e6:.0f} MB limit")
                    chunks.append(chunk)
            except (OSError, http.client.HTTPException) as exc:
                raise FetchError(f"the download broke off ({exc}); try again") from exc
            content_type = response.headers.get("Content-Type", "")
            final = response.geturl() or url
        return Fetched(final, b"".join(chunks), content_type, _suffix(content_type, final))
    raise FetchError(f"more than {max_redirects} redirects; give the page's final address")


def _suffix(content_type: str, url: str) -> str:
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in _TYPES:
        return _TYPES[mime]
    path = urllib.parse.urlsplit(url).path.lower()
    for suffix in (".html", ".htm", ".pdf", ".docx", ".txt", ".md"):
        if path.endswith(suffix):
            return ".html" if suffix == ".htm" else suffix
    if not mime or mime == "application/octet-stream":
        return ".html"  # most servers that say nothing serve pages
    raise FetchError(f"the address serves {mime}, not a web page, PDF or Word document")


def source_file(folder: Path, fetched: Fetched) -> Path:
    """Keep the fetched bytes in ``folder`` (named by a hash of the URL) and return the file."""
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(fetched.url.encode("utf-8")).hexdigest()[:24] + fetched.suffix
    path = folder / name
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(fetched.data)
    tmp.replace(path)
    return path
