"""Bad documents, end to end through `qa index`: every file a messy corpus folder holds is
either indexed (whatever its encoding) or skipped with one warning line naming it; the
index that results answers from each readable file with verbatim extracts. And a 50 MB
text file goes to the model in bounded batches, with bounded memory."""
from __future__ import annotations

import codecs
import gzip
import json
import re
import subprocess
import sys
import textwrap

import pytest
from robust_helpers import PROJECT, one_line


def article(town: str, fact: str, traditional: bool = False) -> str:
    if traditional:
        return (f"{town}新聞\n\n2025年3月2日 來源：測試晚報\n\n{fact}\n\n"
                f"{town}有關負責人表示，相關工作將持續推進，歡迎市民監督。\n")
    return (f"{town}新闻\n\n2025年3月2日 来源：测试晚报\n\n{fact}\n\n"
            f"{town}有关负责人表示，相关工作将持续推进，欢迎市民监督。\n")


# each readable file: (relative path, bytes, a question, words its answer must contain)
FACTS = {
    "gb18030": ("gb.txt", "柳河县今年共种植了四千二百棵银杏树。", "柳河县今年种植了多少棵银杏树？", "银杏"),
    "big5": ("big5.txt", "松山鎮的新圖書館藏書一共有三萬八千冊。", "松山镇的新图书馆藏书有多少册？", "圖書館"),
    "utf16le": ("utf16le.txt", "桃源村的水库在去年十月完成了加固工程。", "桃源村的水库什么时候完成加固？", "水库"),
    "utf16be": ("utf16be.md", "梅溪乡的茶园面积扩大到了一千六百亩。", "梅溪乡的茶园面积有多大？", "茶园"),
    "broken-utf8": ("broken.txt", "青石镇的老街改造总投资为两千三百万元。", "青石镇老街改造投资多少钱？", "老街"),
    "chinese-path": ("新 闻 稿/第 一 篇 (终稿).txt", "白沙湾的海滩每年夏天接待游客十二万人次。", "白沙湾海滩每年接待多少游客？", "海滩"),
    "jsonl": ("records.jsonl", "红枫岭的步道全长十四公里，沿途设有六个观景台。", "红枫岭的步道有多长？", "步道"),
}


@pytest.fixture
def messy_corpus(tmp_path):
    root = tmp_path / "my corpus 语料"
    root.mkdir()

    def put(rel: str, data: bytes) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    text = {k: article(v[1][:3], v[1], traditional=k == "big5") for k, v in FACTS.items()}
    put("gb.txt", text["gb18030"].encode("gb18030"))
    put("big5.txt", text["big5"].encode("big5"))
    put("utf16le.txt", codecs.BOM_UTF16_LE + text["utf16le"].encode("utf-16-le"))
    put("utf16be.md", codecs.BOM_UTF16_BE + text["utf16be"].encode("utf-16-be"))
    raw = text["broken-utf8"].encode("utf-8")
    middle = len(raw) // 2
    middle -= middle % 3  # on a character boundary of this all-CJK-ish text, then break one character
    put("broken.txt", raw[:middle] + b"\xff\xfe" + raw[middle + 1:])
    put("新 闻 稿/第 一 篇 (终稿).txt", text["chinese-path"].encode("utf-8"))
    put("empty.txt", b"")
    put("blank.md", b" \r\n\t \n")
    put("photo.txt", bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256)) * 4)
    put("archive.html", gzip.compress(b"<p>not really html</p>" * 50))
    put("program.md", b"\x7fELF\x02\x01\x01\x00" + bytes(200))
    put("copy of gb.txt", text["gb18030"].encode("utf-8"))  # same article, another name and encoding
    put("bad\nname\x1b[31m.txt", b"")  # a name with a line break and a terminal escape
    lines = [
        json.dumps({"id": "rec-1", "text": text["jsonl"], "title": "红枫岭步道"}, ensure_ascii=False),
        '{"id": "rec-2", "text": "这一行断了',
        json.dumps({"id": "rec-3"}),
        json.dumps({"text": "没有编号的文章。"}, ensure_ascii=False),
        json.dumps({"id": "rec-1", "text": "重复的编号，另一篇文章。"}, ensure_ascii=False),
        json.dumps({"id": "rec-4", "text": 42}),
        "[1, 2, 3]",
        "\xff\xfe garbage",
    ]
    put("records.jsonl", ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
    return root


def run_qa(qa_bin, env, *args, timeout=600):
    return subprocess.run([qa_bin, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_messy_folder_indexes_what_it_can_and_names_the_rest(qa_bin, cli_env, messy_corpus, tmp_path, seed_docs):
    index_dir = tmp_path / "index"
    result = run_qa(qa_bin, cli_env, "index", str(messy_corpus), "--index-dir", str(index_dir))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = result.stderr.splitlines()
    assert all(line.startswith("warning: ") for line in warnings), warnings
    named = "\n".join(warnings)
    for skipped in ("empty.txt", "blank.md", "photo.txt", "archive.html", "program.md", "copy of gb.txt", "bad"):
        assert sum(skipped in line for line in warnings) >= 1, (skipped, warnings)
    assert re.search(r"(copy of )?gb\.txt: same text as '(copy of )?gb\.txt'; kept once", named)
    assert re.search(r"broken\.txt: \d undecodable bytes replaced", named)
    assert "bad\\nname\\x1b[31m.txt: empty file; skipped." in named  # shown escaped, on its line
    for line_no in (2, 3, 4, 5, 6, 7, 8):
        assert f"records.jsonl:{line_no}:" in named, line_no
    assert "\x1b" not in result.stderr  # a file name cannot drive the terminal
    assert f"Indexed {len(FACTS)} documents" in result.stdout

    info = json.loads(run_qa(qa_bin, cli_env, "info", "--json", "--index-dir", str(index_dir)).stdout)
    ids = {d["id"] for d in info["document_list"]}
    assert ids - {"gb.txt", "copy of gb.txt"} == {"big5.txt", "utf16le.txt", "utf16be.md", "broken.txt", "第 一 篇 (终稿).txt", "rec-1"}
    assert len(ids & {"gb.txt", "copy of gb.txt"}) == 1  # the same article under two names: kept once

    from qa.engine import QA
    from qa.settings import Settings

    qa = QA(Settings(index_dir=index_dir))
    docs = qa.data().documents
    for name, (_, fact, question, word) in FACTS.items():
        answer = qa.ask(question)
        assert answer.answered, name
        top = answer.snippets[0]
        assert word in top.text, (name, top.text)
        assert docs[top.citation.doc_id].text[top.citation.start:top.citation.end] == top.text
        assert "\ufffd" not in top.text  # broken bytes are never quoted


def test_a_folder_with_nothing_readable_is_one_error_and_creates_no_index(qa_bin, cli_env, tmp_path):
    folder = tmp_path / "junk 文件夹"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"")
    (folder / "b.txt").write_bytes(bytes(range(256)))
    index_dir = tmp_path / "index"
    result = run_qa(qa_bin, cli_env, "index", str(folder), "--index-dir", str(index_dir))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(errors) == 1 and one_line(errors[0]) and errors[0].startswith("error: No readable documents")
    assert not (index_dir / "CURRENT").exists()


def test_a_bad_corpus_never_replaces_a_good_index(qa_bin, cli_env, index_copy, tmp_path, generation_of):
    """Indexing a folder with nothing readable fails cleanly and the previous index still answers."""
    before = generation_of(index_copy)
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "only.txt").write_bytes(b"\x00\x01" * 100)
    result = run_qa(qa_bin, cli_env, "index", str(folder), "--index-dir", str(index_copy))
    assert result.returncode == 1
    assert generation_of(index_copy) == before
    answer = run_qa(qa_bin, cli_env, "ask", "清徐县是在哪里发现初筛阳性人员的？", "--json", "--index-dir", str(index_copy))
    assert answer.returncode == 0 and json.loads(answer.stdout)["answered"]


# -- a 50 MB file ---------------------------------------------------------------------------
BIG_MB = 50
BATCH = 32  # the indexer's batch, lowered so that a few hundred passages make several batches
GROWTH_BOUND_MB = 1200  # peak RSS growth while indexing the file; see the test
BIG_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    import qa.index.build
    from qa.engine import QA
    from qa.settings import Settings

    qa.index.build.ENCODE_BATCH = int(sys.argv[3])
    engine = QA(Settings(index_dir=Path(sys.argv[2])))
    encoder = engine.encoder
    batches = []
    original = encoder.encode_passages_with_spans
    def recorded(texts, spans):
        batches.append(len(texts))
        return original(texts, spans)
    encoder.encode_passages_with_spans = recorded
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = engine.index([Path(sys.argv[1])])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    answer = engine.ask(sys.argv[4])
    doc = engine.data().documents[answer.snippets[0].citation.doc_id] if answer.snippets else None
    print(json.dumps({"batches": batches, "passages": report.passages, "encoded": report.encoded,
                      "rss_before_mb": before / 1024, "rss_peak_mb": peak / 1024,
                      "answered": answer.answered, "snippet": answer.snippets[0].text if answer.snippets else "",
                      "verbatim": all(engine.data().documents[s.citation.doc_id].text[s.citation.start:s.citation.end] == s.text
                                      for s in answer.snippets),
                      "doc_chars": len(doc.text) if doc else 0}))
""")


@pytest.mark.slow
def test_a_50_mb_file_is_embedded_in_bounded_batches_with_bounded_memory(tmp_path, seed_docs, capsys):
    """A 50 MB article dump (seed paragraphs repeated, which the cleaner keeps once, and a few
    hundred distinct reports) is indexed in one process: the model gets batches of at most
    ENCODE_BATCH passages, never the file; the process's peak memory grows by a bounded
    amount; the one fact in the middle is found and quoted verbatim."""
    unique = [f"第{i}号通报：东坡区第{i}个社区今天完成了{i * 7 % 97 + 3}处老旧管网的更换，涉及居民{i * 13 % 500 + 40}户。"
              for i in range(400)]
    needle = "第二百号通报特别说明：金鸡湖畔新建的天文台口径为一点二米，将于明年春天对公众开放。"
    filler = "\n\n".join(seed_docs["002_55bd9ca71670d804.txt"].text.split("\n\n")[3:12])
    path = tmp_path / "巨大 的 文件.txt"
    with open(path, "wb") as fh:
        written, i = 0, 0
        while written < BIG_MB * 1_000_000:
            block = filler + "\n\n"
            if i < len(unique):
                block += unique[i] + "\n\n"
            if i == len(unique) // 2:
                block += needle + "\n\n"
            written += fh.write(block.encode("utf-8"))
            i += 1
    size_mb = path.stat().st_size / 1e6
    assert size_mb >= BIG_MB * 0.9
    result = subprocess.run([sys.executable, "-c", BIG_SCRIPT, str(path), str(tmp_path / "index"), str(BATCH),
                             "金鸡湖畔的天文台口径是多少？"],
                            cwd=PROJECT, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    growth = out["rss_peak_mb"] - out["rss_before_mb"]
    with capsys.disabled():
        print(f"\n[50 MB file] {size_mb:.1f} MB, {out['passages']} passages, {len(out['batches'])} batches "
              f"(largest {max(out['batches'])}), peak RSS {out['rss_peak_mb']:.0f} MB (+{growth:.0f} MB while indexing)")
    assert out["batches"] and max(out["batches"]) <= BATCH and len(out["batches"]) >= 3
    assert sum(out["batches"]) == out["encoded"] == out["passages"]
    # Measured on a 2-core machine (ONNX backend): +571 MB here (docs/performance.md: "about 0.6 GB"), of which
    # one model input of 32 passages of 300 characters is about 320 MB, the rest the 50 MB of
    # text, its passages and the first call's set-up. The bound is twice that: room for another
    # allocator or thread count (the old bound, 40 x the file = 2 GB, let through a tripling),
    # while the whole file's 403 passages in one model input (measured: +4.6 GB) are far over it.
    assert growth < GROWTH_BOUND_MB, f"peak memory grew by {growth:.0f} MB while indexing (bound {GROWTH_BOUND_MB} MB)"
    assert out["answered"] and "天文台" in out["snippet"] and out["verbatim"]
