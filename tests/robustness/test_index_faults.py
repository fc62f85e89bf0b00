"""Index faults: a truncated or deleted FAISS file, a manifest from another model, an index
folder that cannot be written, a full disk. Each is detected and named in one line, and
the last good index still serves."""
from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import subprocess
from pathlib import Path

import pytest
from robust_helpers import QINGXU, QINGXU_DOC, one_line

from qa.errors import IndexDamaged, ModelMismatch, ZhqaError

NEW_DOC = "新闻 稿.txt"
NEW_FACT = "银杏湾社区今年新建了三座口袋公园，总面积约四千平方米。"
NEW_QUESTION = "银杏湾社区今年新建了几座口袋公园？"


@pytest.fixture
def new_doc(tmp_path) -> Path:
    folder = tmp_path / "new docs"
    folder.mkdir()
    path = folder / NEW_DOC
    path.write_text(f"银杏湾社区新闻\n\n2025年5月6日 来源：测试日报\n\n{NEW_FACT}\n\n居民们对新公园很满意。\n", encoding="utf-8")
    return path


def qa_over(index_dir, encoder):
    from qa.engine import QA
    from qa.settings import Settings

    return QA(Settings(index_dir=index_dir, lock_timeout=5), encoder=encoder)


def run_qa(qa_bin, env, *args, prefix=(), timeout=600):
    return subprocess.run([*prefix, qa_bin, *args], env=env, capture_output=True, text=True, timeout=timeout)


def answer_json(qa, question=QINGXU) -> str:
    return json.dumps(qa.ask(question).to_json(), sort_keys=True, ensure_ascii=False)


def damaged_copy_as_new_generation(index_dir: Path, generation_of, damage) -> Path:
    """A new generation (a copy of the current one, then damaged) made current with an atomic
    rename, as a writer that went wrong would leave it."""
    current = generation_of(index_dir)
    target = index_dir / f"gen-{int(current.name.split('-')[1]) + 1}"
    shutil.copytree(current, target)
    damage(target)
    (index_dir / "CURRENT.tmp").write_text(target.name, encoding="utf-8")
    os.replace(index_dir / "CURRENT.tmp", index_dir / "CURRENT")
    return target


def truncate_faiss(gen: Path) -> None:
    with open(gen / "dense.faiss", "r+b") as fh:
        fh.truncate((gen / "dense.faiss").stat().st_size // 3)


def delete_faiss(gen: Path) -> None:
    (gen / "dense.faiss").unlink()


def other_model_manifest(gen: Path) -> None:
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    manifest["model"] = "BAAI/bge-small-zh-v1.5"
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


FAULTS = {"truncated-faiss": (truncate_faiss, IndexDamaged, "damaged"),
          "deleted-faiss": (delete_faiss, IndexDamaged, "damaged"),
          "other-model-manifest": (other_model_manifest, ModelMismatch, "bge-small-zh")}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_running_qa_keeps_serving_when_a_newer_index_is_unusable(index_copy, encoder, generation_of, fault, capfd):
    damage, error, named = FAULTS[fault]
    qa = qa_over(index_copy, encoder)
    before = answer_json(qa)
    damaged_copy_as_new_generation(index_copy, generation_of, damage)
    for _ in range(3):  # every question is still answered, from the index loaded before
        assert answer_json(qa) == before
    assert qa.problem and named in qa.problem and one_line(qa.problem)
    assert capfd.readouterr().err.count("Still serving the index loaded before") == 1  # named once, not per question
    with pytest.raises(error, match=named):  # a fresh process has no index to fall back on: it says why
        qa_over(index_copy, encoder).ask(QINGXU)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_cli_names_the_fault_in_one_line_and_a_rebuild_recovers(qa_bin, cli_env, index_copy, generation_of, fault):
    damage, _, named = FAULTS[fault]
    damage(generation_of(index_copy))
    result = run_qa(qa_bin, cli_env, "ask", QINGXU, "--index-dir", str(index_copy))
    assert result.returncode == 1 and one_line(result.stderr) and result.stderr.startswith("error: ")
    assert named in result.stderr and "qa index" in result.stderr  # what is wrong, and what to do
    if fault != "truncated-faiss":
        return  # one rebuild shows recovery; each re-embeds the seeds
    rebuilt = run_qa(qa_bin, cli_env, "index", "--index-dir", str(index_copy))
    assert rebuilt.returncode == 0, rebuilt.stderr
    answer = json.loads(run_qa(qa_bin, cli_env, "ask", QINGXU, "--json", "--index-dir", str(index_copy)).stdout)
    assert answer["answered"] and answer["snippets"][0]["doc_id"] == QINGXU_DOC


def test_running_qa_keeps_serving_after_the_faiss_file_is_damaged_in_place(index_copy, encoder, generation_of):
    """The files of the loaded generation are damaged under a running server: nothing is
    re-read, answers do not change."""
    qa = qa_over(index_copy, encoder)
    before = answer_json(qa)
    truncate_faiss(generation_of(index_copy))
    assert answer_json(qa) == before and qa.problem is None


# -- a full disk ------------------------------------------------------------------------------
def test_full_disk_during_a_build_keeps_the_last_index(index_copy, encoder, generation_of, new_doc, monkeypatch):
    """Every fsync fails with ENOSPC (as a full disk reports delayed writes): the build fails
    with one sentence naming the full disk, the previous generation stays current and
    answers, no half-written generation is left, and once there is space the same build works."""
    qa = qa_over(index_copy, encoder)
    before_answer, before_gen = answer_json(qa), generation_of(index_copy)
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ZhqaError) as caught:
        qa.index([new_doc.parent], add=True)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert "disk is full" in str(caught.value) and one_line(str(caught.value))
    assert generation_of(index_copy) == before_gen
    assert sorted(p.name for p in index_copy.glob("gen-*")) == [before_gen.name]
    assert answer_json(qa) == before_answer
    assert answer_json(qa_over(index_copy, encoder)) == before_answer  # and a fresh process too
    qa.index([new_doc.parent], add=True)
    assert NEW_DOC in qa.data().documents and qa.ask(NEW_QUESTION).answered


def _limit_file_size():
    """In the child: no file may grow past 256 KiB (the kernel says EFBIG, as a disk quota would)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_cli_build_that_cannot_write_its_files_is_one_line_and_changes_nothing(qa_bin, cli_env, index_copy, generation_of, new_doc):
    before = generation_of(index_copy)
    result = subprocess.run([qa_bin, "index", "--add", str(new_doc), "--index-dir", str(index_copy)], env=cli_env,
                            capture_output=True, text=True, timeout=600, preexec_fn=_limit_file_size)
    assert result.returncode == 1, result.stdout + result.stderr
    assert one_line(result.stderr) and "previous index is untouched" in result.stderr, result.stderr
    assert generation_of(index_copy) == before
    assert sorted(p.name for p in index_copy.glob("gen-*")) == [before.name]
    answer = json.loads(run_qa(qa_bin, cli_env, "ask", QINGXU, "--json", "--index-dir", str(index_copy)).stdout)
    assert answer["answered"]


# -- an index folder without write permission --------------------------------------------------
def _read_only_prefix() -> tuple[str, ...] | None:
    """How to run a command that the permission bits apply to. As root, permission bits do
    not stop writes (CAP_DAC_OVERRIDE): drop that capability with setpriv. None if neither works."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    caps = "-dac_override,-dac_read_search,-fowner"
    prefix = (setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--")
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    except OSError:
        return None
    return prefix if probe.returncode == 0 else None


@pytest.fixture
def read_only_index(index_copy):
    prefix = _read_only_prefix()
    if prefix is None:
        pytest.skip("running as root without setpriv: permission bits cannot be made to apply")
    modes = {}
    for path in [index_copy, *index_copy.rglob("*")]:
        modes[path] = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield index_copy, prefix
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_read_only_index_refuses_writes_in_one_line_and_still_answers(qa_bin, cli_env, read_only_index, generation_of, new_doc):
    index_dir, prefix = read_only_index
    before = generation_of(index_dir)
    for args in (["index", "--add", str(new_doc)], ["index"], ["remove", "001_4c3f5a124836c178.txt"]):
        result = run_qa(qa_bin, cli_env, *args, "--index-dir", str(index_dir), prefix=prefix)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert one_line(result.stderr) and "No permission to write the index" in result.stderr, result.stderr
    assert generation_of(index_dir) == before
    answer = run_qa(qa_bin, cli_env, "ask", QINGXU, "--json", "--index-dir", str(index_dir), prefix=prefix)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["snippets"][0]["doc_id"] == QINGXU_DOC


def test_uploads_into_a_folder_that_cannot_be_made_are_refused_in_one_line(tmp_path):
    from qa.web.uploads import save_uploads

    blocker = tmp_path / "index"
    blocker.write_text("a file where the index folder should be", encoding="utf-8")
    upload = tmp_path / "a.txt"
    upload.write_text("董健是社区民警。", encoding="utf-8")
    saved, refused = save_uploads([str(upload)], blocker / "uploads")
    assert saved == [] and len(refused) == 1 and one_line(refused[0]) and "--index-dir" in refused[0]
