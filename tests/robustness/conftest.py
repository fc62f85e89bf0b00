"""Fixtures of the robustness suite: a real ``python app.py`` server on loopback over a
private copy of the seeds index plus one hostile article (see robust_helpers.py)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from robust_helpers import HOSTILE_DOC, HOSTILE_TEXT, start_server, stop_server


@pytest.fixture(scope="session")
def hostile_index_dir(tmp_path_factory, seeds_index_dir, encoder) -> Path:
    """A copy of the seeds index with HOSTILE_DOC added (never changed afterwards)."""
    from qa.engine import QA
    from qa.settings import Settings

    root = tmp_path_factory.mktemp("robust-index")
    index_dir = root / "index"
    shutil.copytree(seeds_index_dir, index_dir)
    corpus = root / "hostile"
    corpus.mkdir()
    (corpus / HOSTILE_DOC).write_text(HOSTILE_TEXT, encoding="utf-8")
    QA(Settings(index_dir=index_dir), encoder=encoder).index([corpus], add=True)
    return index_dir


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, hostile_index_dir):
    """The web chat as a user starts it, over its own copy of ``hostile_index_dir``."""
    index_dir = tmp_path_factory.mktemp("served") / "index"
    shutil.copytree(hostile_index_dir, index_dir)
    env = dict(os.environ, GRADIO_TEMP_DIR=str(index_dir.parent / "gradio-uploads"))  # to see where uploads land
    server = start_server(index_dir, index_dir.parent / "app.log", env=env)
    try:
        yield server
    finally:
        stop_server(server)

