"""A regular install, as a new user makes it: the wheel `python -m build` makes, installed in
a fresh virtual environment with only torch before it, answers `qa ask` from an empty folder
(the bundled seeds, indexed into the default index folder) and serves the page with
`qa serve`. Slow (a build and an install of every dependency; pip's cache keeps it to a few
minutes after the first run)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from qa.bench.startup import stop

PROJECT = Path(__file__).resolve().parent.parent
TORCH = "torch==2.13.0"  # the CPU build; first, so nothing pulls a CUDA one
QUESTION = "董健是谁？"
DONGJIAN_DOC = "004_62723c32f6056b4d.txt"
# What a checkout holds that a build must not see: an index, environments, an earlier build's leftovers.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", ".zhqa-index", "build", "dist", "*.egg-info", "__pycache__",
                                    ".pytest_cache", "node_modules")

pytestmark = pytest.mark.slow


def _run(args, timeout, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh venv holding torch and the project's wheel, nothing else."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a clean copy: a stale build/ in the checkout would leak into the wheel
    shutil.copytree(PROJECT, source, ignore=NOT_SOURCE)
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(source)], timeout=600)
    wheels = list((work / "dist").glob("zhqa-*.whl"))
    assert len(wheels) == 1, wheels
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, TORCH], timeout=1200)
    _run([*pip, str(wheels[0])], timeout=1800)
    return venv / "bin"


def _user_env(home: Path) -> dict[str, str]:
    """A user's environment: none of the test session's paths or index settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ZHQA_INDEX_DIR", "VIRTUAL_ENV", "ZHQA_DEBUG")}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    return env


def test_wheel_holds_seeds_and_models(installed):
    """The package carries the seed articles, the trained models and their cards."""
    python = installed / "python"
    out = _run([str(python), "-c", "import qa.settings as s, json; print(json.dumps([str(p) for p in s.default_corpus()]))"],
               timeout=120, cwd=installed.parent, env=_user_env(installed)).stdout
    (seeds,) = json.loads(out)
    assert Path(seeds).parts[-2:] == ("qa", "seeds") and "site-packages" in seeds
    assert sorted(p.name for p in Path(seeds).glob("*.txt")) == sorted(p.name for p in (PROJECT / "seeds").glob("*.txt"))
    package = Path(seeds).parent
    for shipped in ("read/model/reader.onnx", "read/MODEL_CARD.md", "retrieve/model/fusion.json",
                    "retrieve/model/FUSION_CARD.md", "answer/model/choice.json", "answer/model/CHOICE_CARD.md"):
        assert (package / shipped).is_file(), shipped


def test_ask_in_an_empty_folder_answers_from_the_bundled_seeds(installed, tmp_path, seed_docs):
    folder = tmp_path / "empty"
    folder.mkdir()
    result = _run([str(installed / "qa"), "ask", QUESTION, "--json"], timeout=600, cwd=folder, env=_user_env(installed))
    out = json.loads(result.stdout)
    assert out["answered"] is True and out["snippets"], out
    for item in out["snippets"] + out["passages"]:
        assert seed_docs[item["doc_id"]].text[item["start"]:item["end"]] == item["text"]
    assert out["snippets"][0]["doc_id"] == DONGJIAN_DOC
    assert (folder / ".zhqa-index").is_dir()  # the default index folder, where the user stands
    assert "indexing the bundled seeds" in result.stderr


def test_serve_serves_the_page(installed, tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    port = _free_port()
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen([str(installed / "qa"), "serve", "--port", str(port)], cwd=folder, env=_user_env(installed),
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        page, deadline = None, time.monotonic() + 600
        while page is None and time.monotonic() < deadline:
            assert server.poll() is None, f"qa serve exited {server.returncode}:\n{log.seek(0) or log.read()[-3000:]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                    page = response.read().decode("utf-8", errors="replace")
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(1)
        assert page is not None, f"qa serve did not answer on port {port}:\n{log.seek(0) or log.read()[-3000:]}"
        assert "zhqa" in page
    finally:
        stop(server, log)
