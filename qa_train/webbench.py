"""How much of a real web page the indexer keeps: measured on a folder laid out like
``../shared/eval/web-pages`` (``original/NAME.html`` with hand-made ``cleaned/NAME.txt``,
``date/NAME.txt``, ``author/NAME.txt``), with trafilatura run beside on the same pages.

Body recall and precision are over character bigrams with whitespace removed (line breaks
in the truth differ from the page's), averaged over pages; a page that is not indexed counts
0 for both. A date is read when its year, month and day agree with the truth to the truth's
own precision ("1996-3" needs the year and month). An author is read when one of the truth's
names is among the names read.

The pages are split into two halves by a hash of their file name: ``tune`` (half A) is where
thresholds may be looked at, ``report`` (half B) is where they are reported."""
from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HALVES = ("all", "tune", "report")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


@dataclass(frozen=True)
class Extraction:
    """What one extractor made of one page."""

    body: str | None  # None: the page was not indexed
    date: str = ""  # YYYY-MM-DD or ""
    author: str = ""
    credits: str = ""  # editors, photographers: the truth counts them as authors when no writer is named


@dataclass
class Scores:
    """One extractor's figures over one set of pages."""

    pages: int = 0
    indexed: int = 0
    recall: float = 0.0
    precision: float = 0.0
    dates: int = 0  # read right
    dates_known: int = 0  # pages whose truth has a date
    authors: int = 0
    authors_known: int = 0
    credited: int = 0  # the truth's author is the author or among the credits (an editor)
    seconds: float = 0.0

    def line(self, name: str) -> str:
        return (f"{name:12s} pages {self.indexed}/{self.pages}  recall {self.recall:.3f}  precision {self.precision:.3f}  "
                f"dates {self.dates}/{self.dates_known}  authors {self.authors}/{self.authors_known} "
                f"(with credits {self.credited})  {self.seconds:.1f}s")


@dataclass
class WebPagesReport:
    """``ours[half]`` and ``trafilatura[half]`` for each half in HALVES; ``misses`` the
    pages ours did not index, or whose date it misread (name: why)."""

    ours: dict[str, Scores] = field(default_factory=dict)
    trafilatura: dict[str, Scores] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def text(self) -> str:
        out = []
        for half in HALVES:
            out.append(f"[{half}]")
            out.append("  " + self.ours[half].line("zhqa"))
            if half in self.trafilatura:
                out.append("  " + self.trafilatura[half].line("trafilatura"))
        return "\n".join(out)


def half_of(name: str) -> str:
    """"tune" or "report": a stable split of the pages by a hash of the file name."""
    return "tune" if hashlib.sha256(name.encode("utf-8")).digest()[0] % 2 == 0 else "report"


def _bigrams(text: str) -> Counter:
    text = re.sub(r"\s+", "", text)
    return Counter(text[i:i + 2] for i in range(len(text) - 1))


def body_scores(kept: str, truth: str) -> tuple[float, float]:
    """(recall, precision) of ``kept`` against ``truth``, over character bigrams."""
    k, t = _bigrams(kept), _bigrams(truth)
    both = sum((k & t).values())
    return both / max(1, sum(t.values())), (both / sum(k.values()) if k else 0.0)


def date_matches(read: str, truth: str) -> bool:
    m, r = _DATE.match(truth.strip()), _DATE.match(read)
    if not m or not r:
        return False
    return all(t is None or (x is not None and int(t) == int(x)) for t, x in zip(m.groups(), r.groups()))


def author_matches(read: str, truth: str) -> bool:
    names = set(read.split())
    return any(name in names or name in read for name in re.split(r"[\s、，,]+", truth) if name) if read else False


def _known(text: str, pattern: str) -> bool:
    return bool(re.match(pattern, text.strip()))


def ours(path: Path) -> Extraction:
    """zhqa's reading of one page: the text of the passages it would index, date, author."""
    from qa.index.build import IndexReport, without_passages
    from qa.ingest.clean import clean
    from qa.ingest.load import LoadResult, load_file

    result = LoadResult()
    load_file(path, result)
    if not result.documents:
        return Extraction(None)
    doc = result.documents[0]
    if not without_passages({doc.id: doc}, None, IndexReport()):
        return Extraction(None, doc.date, doc.author, doc.credits)
    cleaned = clean(doc.text, doc.title)
    return Extraction("\n".join(cleaned.visible(doc.text, s, e) for s, e in cleaned.sections), doc.date, doc.author,
                      doc.credits)


def trafilatura_reading(path: Path) -> Extraction:
    """trafilatura 2's reading of the same page (its defaults), as the anchor."""
    import trafilatura

    data = path.read_bytes()
    body = trafilatura.extract(data)
    meta = trafilatura.extract_metadata(data)
    return Extraction(body or None, (meta.date or "") if meta else "", (meta.author or "") if meta else "")


def _score(readings: dict[str, Extraction], folder: Path, names: list[str], seconds: float) -> Scores:
    s = Scores(pages=len(names), seconds=seconds)
    recalls, precisions = [], []
    for name in names:
        got = readings[name]
        truth = (folder / "cleaned" / f"{name}.txt").read_text(encoding="utf-8")
        r, p = body_scores(got.body, truth) if got.body is not None else (0.0, 0.0)
        s.indexed += got.body is not None
        recalls.append(r)
        precisions.append(p)
        date_truth = (folder / "date" / f"{name}.txt").read_text(encoding="utf-8").strip()
        if _known(date_truth, r"\d{4}"):
            s.dates_known += 1
            s.dates += date_matches(got.date, date_truth)
        author_truth = (folder / "author" / f"{name}.txt").read_text(encoding="utf-8").strip()
        if author_truth and not author_truth.upper().startswith("UNKN"):
            s.authors_known += 1
            s.authors += author_matches(got.author, author_truth)
            s.credited += author_matches(f"{got.author} {got.credits}".strip(), author_truth)
    s.recall = sum(recalls) / max(1, len(names))
    s.precision = sum(precisions) / max(1, len(names))
    return s


def measure_web_pages(folder: Path, with_trafilatura: bool = True) -> WebPagesReport:
    """Pages indexed, body recall and precision, dates and authors read on ``folder``
    (laid out as ../shared/eval/web-pages), for zhqa and, beside it, trafilatura; for all
    pages and for each half (see ``half_of``)."""
    folder = Path(folder)
    pages = sorted((folder / "original").glob("*.htm*"))
    if not pages:
        raise FileNotFoundError(f"No pages in {folder / 'original'}; give a folder laid out as ../shared/eval/web-pages.")
    names = [p.stem for p in pages]
    report = WebPagesReport()
    extractors = [("ours", ours)] + ([("trafilatura", trafilatura_reading)] if with_trafilatura else [])
    for label, extract in extractors:
        readings, times = {}, {}
        for page in pages:
            started = time.perf_counter()
            readings[page.stem] = extract(page)
            times[page.stem] = time.perf_counter() - started
        for half in HALVES:
            chosen = [n for n in names if half == "all" or half_of(n) == half]
            getattr(report, label)[half] = _score(readings, folder, chosen, sum(times[n] for n in chosen))
        if label == "ours":
            for name in names:
                got = readings[name]
                date_truth = (folder / "date" / f"{name}.txt").read_text(encoding="utf-8").strip()
                if got.body is None:
                    report.misses.append(f"{name}: not indexed")
                elif _known(date_truth, r"\d{4}") and not date_matches(got.date, date_truth):
                    report.misses.append(f"{name}: date {got.date or '-'} (truth {date_truth})")
    return report
