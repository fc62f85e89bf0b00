"""The `qa` command: the real console script in a subprocess for the contract and the error
paths, click's CliRunner (with the session's encoder) for the rest."""
from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

QINGXU = "清徐县是在哪里发现初筛阳性人员的？"
DOC001, DOC002, DOC004 = "001_4c3f5a124836c178.txt", "002_55bd9ca71670d804.txt", "004_62723c32f6056b4d.txt"


def run_qa(qa_bin, env, *args, timeout=300):
    return subprocess.run([qa_bin, *args], capture_output=True, text=True, env=env, timeout=timeout)


def assert_one_line_error(result) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")


def test_help(qa_bin, cli_env):
    """`qa --help` exits 0 and lists the commands."""
    result = run_qa(qa_bin, cli_env, "--help")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("Usage: qa ")
    for command in ("ask", "index", "info", "remove"):
        assert f"  {command} " in result.stdout


def test_ask_json_contract(qa_bin, cli_env, seeds_index_dir, seed_docs):
    """`qa ask --json` prints one JSON object with the contract keys; every text is original[start:end]."""
    result = run_qa(qa_bin, cli_env, "ask", QINGXU, "--json", "--index-dir", str(seeds_index_dir))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    out = json.loads(result.stdout)
    assert set(out) == {"question", "answered", "span_shown", "confidence", "answer", "snippets", "passages"}
    assert out["question"] == QINGXU and out["answered"] is True
    assert out["snippets"] and len(out["passages"]) == 5
    base = {"text", "doc_id", "title", "start", "end", "score"}
    for item in out["snippets"] + out["passages"]:
        # a snippet's citation adds author, url, page only when its document has them
        assert base <= set(item) <= (base | {"author", "url", "page"} if item in out["snippets"] else base)
        doc = seed_docs[item["doc_id"]]
        assert doc.text[item["start"]:item["end"]] == item["text"]
        assert item["title"] == doc.title
        assert isinstance(item["score"], float)
    assert out["snippets"][0]["doc_id"] == DOC002
    assert "韻達快遞物流園" in out["snippets"][0]["text"]


@pytest.mark.parametrize(
    "question",
    ["", "   ", "问" * 2001],
    ids=["empty", "blank", "2001-chars"],
)
def test_bad_question_is_one_line_error(qa_bin, cli_env, seeds_index_dir, question):
    """An empty, blank or 2,001-character question exits 1 with one `error:` line and no traceback."""
    assert_one_line_error(run_qa(qa_bin, cli_env, "ask", question, "--index-dir", str(seeds_index_dir)))


def test_missing_index_dir_is_one_line_error(qa_bin, cli_env, tmp_path):
    """--index-dir naming a folder that does not exist is one error line, and nothing is created there."""
    missing = tmp_path / "no" / "such" / "index"
    result = run_qa(qa_bin, cli_env, "ask", QINGXU, "--index-dir", str(missing))
    assert_one_line_error(result)
    assert "does not exist" in result.stderr
    assert not missing.exists()


def test_damaged_index_is_one_line_error(qa_bin, cli_env, index_copy, generation_of):
    """An index whose dense.faiss was truncated is reported as damaged in one line, for ask and info."""
    faiss_file = generation_of(index_copy) / "dense.faiss"
    with open(faiss_file, "r+b") as fh:
        fh.truncate(faiss_file.stat().st_size // 2)
    for args in (["ask", QINGXU], ["info"]):
        result = run_qa(qa_bin, cli_env, *args, "--index-dir", str(index_copy))
        assert_one_line_error(result)
        assert "damaged" in result.stderr and "qa index" in result.stderr


def test_info(qa_bin, cli_env, seeds_index_dir):
    """`qa info` prints the index summary: 5 documents, its passages and the model."""
    result = run_qa(qa_bin, cli_env, "info", "--index-dir", str(seeds_index_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "documents: 5" in lines
    assert "model:     multilingual-e5-small (384 dimensions)" in lines
    from qa.cpu import one_line, processor

    assert f"processor: {one_line(processor().as_dict())}" in lines  # where the int8 reader's numbers come from


def test_info_json_lists_documents(qa_bin, cli_env, seeds_index_dir, seeds_qa):
    """`qa info --json` is the engine's info() as JSON."""
    result = run_qa(qa_bin, cli_env, "info", "--json", "--index-dir", str(seeds_index_dir))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["documents"] == 5 and out["passages"] == len(seeds_qa.data().passages)
    assert [d["id"] for d in out["document_list"]] == sorted(d["id"] for d in out["document_list"])
    assert out["processor"]["int8_path"]["u8s8"] and out["processor"]["reader_int8_weights"] in ("s8", "u8")


# -- in-process, with the session's encoder -------------------------------------------------

@pytest.fixture
def runner_with_encoder(monkeypatch, encoder):
    """A CliRunner whose QA engines reuse the already loaded encoder."""
    import qa.cli
    from qa.engine import QA

    monkeypatch.setattr(qa.cli, "_engine", lambda settings: QA(settings, encoder=encoder))
    return CliRunner()


def test_ask_human_output_with_doc_filter(runner_with_encoder, seeds_index_dir, seed_docs):
    """`qa ask --doc` prints numbered extracts with their citation line, all from the chosen document."""
    import qa.cli

    result = runner_with_encoder.invoke(qa.cli.main, ["ask", QINGXU, "--doc", DOC004, "-k", "3",
                                                      "--index-dir", str(seeds_index_dir)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "Passages:" in lines
    passage_lines = lines[lines.index("Passages:") + 1:]
    assert len(passage_lines) == 3
    assert all(line.strip().split(" ")[1] == DOC004 for line in passage_lines)
    citations = [line for line in lines if line.startswith("    — ")]
    assert all(f"· {DOC004} [" in line for line in citations)


def test_remove_command(runner_with_encoder, index_copy, seeds_qa):
    """`qa remove ID` drops the document and reports what remains."""
    import qa.cli

    n001 = sum(1 for p in seeds_qa.data().passages if p.doc_id == DOC001)
    total = len(seeds_qa.data().passages)
    result = runner_with_encoder.invoke(qa.cli.main, ["remove", DOC001, "--index-dir", str(index_copy)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Removed 1 documents; 4 documents, {total - n001} passages remain."


def test_remove_unknown_id_is_one_line_error(runner_with_encoder, index_copy):
    """`qa remove` of an id that is not indexed exits 1 with one error line."""
    import qa.cli

    result = runner_with_encoder.invoke(qa.cli.main, ["remove", "no-such-doc.txt", "--index-dir", str(index_copy)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")


def test_bad_chunk_settings_are_one_line_error(runner_with_encoder, tmp_path):
    """`qa index --max-chars 10` is refused in one line before anything is indexed."""
    import qa.cli

    result = runner_with_encoder.invoke(qa.cli.main, ["index", "--max-chars", "10", "--index-dir", str(tmp_path / "i")])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: max_chars must be at least 50."
    assert not (tmp_path / "i").exists()


@pytest.mark.slow
def test_index_then_ask_in_fresh_processes(qa_bin, cli_env, tmp_path, seeds_qa):
    """`qa index` builds an index of seeds/ in a new folder, a second run says it is up to date, and `qa ask` uses it."""
    index_dir = tmp_path / "cli-index"
    first = run_qa(qa_bin, cli_env, "index", "--json", "--index-dir", str(index_dir))
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["documents"] == 5 and report["encoded"] == report["passages"] == len(seeds_qa.data().passages)
    second = run_qa(qa_bin, cli_env, "index", "--index-dir", str(index_dir))
    assert second.returncode == 0
    assert second.stdout.strip() == f"Index is up to date: 5 documents, {report['passages']} passages."
    asked = run_qa(qa_bin, cli_env, "ask", QINGXU, "--json", "--index-dir", str(index_dir))
    assert json.loads(asked.stdout)["snippets"][0]["doc_id"] == DOC002


@pytest.mark.slow
def test_ask_builds_the_default_index_when_there_is_none(qa_bin, cli_env, tmp_path):
    """`qa ask` with no index yet indexes seeds/ into $ZHQA_INDEX_DIR first, says so on stderr, then answers."""
    env = dict(cli_env, ZHQA_INDEX_DIR=str(tmp_path / "auto-index"))
    result = run_qa(qa_bin, env, "ask", QINGXU, "--json")
    assert result.returncode == 0, result.stderr
    assert "No index yet" in result.stderr
    assert json.loads(result.stdout)["snippets"][0]["doc_id"] == DOC002
    assert (tmp_path / "auto-index" / "CURRENT").exists()


def test_serve_takes_the_options_of_app_py(qa_bin, cli_env):
    """`qa serve` and `python app.py` are one parser: the same options, the same refusals."""
    from qa.settings import PROJECT_ROOT

    serve = run_qa(qa_bin, cli_env, "serve", "--help")
    app = subprocess.run([__import__("sys").executable, str(PROJECT_ROOT / "app.py"), "--help"], capture_output=True,
                         text=True, env=cli_env, timeout=120)
    assert serve.returncode == app.returncode == 0, (serve.stderr, app.stderr)
    assert serve.stdout.startswith("usage: qa serve ")
    options = sorted({word for word in serve.stdout.split() if word.startswith("--")})
    assert {"--port", "--host", "--index-dir", "--store", "--auth", "--read-only", "--rebuild"} <= set(options)
    assert options == sorted({word for word in app.stdout.split() if word.startswith("--")})
    bad = run_qa(qa_bin, cli_env, "serve", "--port", "70000")
    assert bad.returncode == 2 and "70000 is not a port number" in bad.stderr and "Traceback" not in bad.stderr


def test_serve_bad_store_is_one_line_error(qa_bin, cli_env):
    """A store address `qa serve` cannot use fails before anything loads, in the CLI's words."""
    result = run_qa(qa_bin, cli_env, "serve", "--store", "redis://localhost:6379")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_one_settings_builder_for_cli_and_chat(monkeypatch, tmp_path):
    """A Milvus server address without an index folder gets the same serving folder in `qa` and the chat."""
    from qa.options import build_settings
    from qa import serve

    monkeypatch.delenv("ZHQA_INDEX_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    args = serve.parse_args(["--store", "milvus://127.0.0.1:19530/news"])
    settings = build_settings(args.index_dir, args.store)
    assert settings.store == "milvus://127.0.0.1:19530/news"
    assert settings.index_dir.parts[-2:] == ("stores", "news")
    assert build_settings(str(tmp_path / "x"), "milvus://127.0.0.1:19530/news").index_dir == tmp_path / "x"
