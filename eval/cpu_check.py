"""Compare the int8 reader's logits across processors and weight encodings (issue 34).

The reader's int8 MatMulIntegers multiply u8 activations by s8 weights. Where MLAS does that
exactly (VNNI, AMX) the logits are those the card's numbers were measured with; on AVX2 or
AVX-512 without VNNI its vpmaddubsw kernel saturates. This writes, for the first window of a
fixed set of validation questions, the start/end logits and best span under each encoding
("s8": as shipped, "u8": shifted, qa.read.int8), so a run here and one on (or emulating)
another processor can be compared:

    python eval/cpu_check.py --per-style 4 --out host.json
    qemu-x86_64 -cpu Haswell .venv/bin/python eval/cpu_check.py --per-style 4 --out avx2.json
    python eval/cpu_check.py --compare host.json avx2.json

Emulation runs a window in about 20 s, hence few questions: the logits, not EM over so few
questions, are what is compared. Validation questions only; nothing is fitted on them."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qa.cpu import int8_path, processor
from qa.read import data as D
from qa.read.reader import Reader

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def subset(shared: Path, per_style: int) -> list[D.Question]:
    """The first ``per_style`` validation questions of each style, ordered by id (fixed)."""
    valid = sorted((q for q in D.load_questions(shared) if D.is_validation(q.title)), key=lambda q: (q.style, q.qid))
    out: list[D.Question] = []
    for style in sorted({q.style for q in valid}):
        out += [q for q in valid if q.style == style][:per_style]
    return out


def measure(questions: list[D.Question], encodings: list[str]) -> dict:
    proc = processor()
    report = {"processor": proc.as_dict(), "int8_path": int8_path(proc).describe(),
              "questions": [q.qid for q in questions], "encodings": {}}
    for enc in encodings:
        reader = Reader(threads=2, int8_weights=enc)
        reader.warm_up()
        A = int(reader.settings["max_answer_tokens"])
        windows = [reader.windows_for(q.question, [q.context])[0][2] for q in questions]
        t0 = time.time()
        logits = reader.run_windows(windows, batch=1)
        seconds = time.time() - t0
        spans = []
        for w, (s, e) in zip(windows, logits):
            ls, le, _ = D.window_scores(s, e, w, len(w.ids))
            best = D.best_spans_in_window(ls, le, A)
            spans.append(list(best[0][:2]) if best else None)
        report["encodings"][enc] = {"logits": [[s.tolist(), e.tolist()] for s, e in logits], "spans": spans,
                                    "seconds": round(seconds, 1)}
        print(enc, f"{seconds:.0f}s", spans, flush=True)
    return report


def compare(a: dict, b: dict) -> list[str]:
    """Per encoding pair, the largest logit difference and how many best spans agree."""
    lines = [f"A: {a['int8_path']}", f"B: {b['int8_path']}"]
    assert a["questions"] == b["questions"], "the runs read other questions"
    for ea in a["encodings"]:
        for eb in b["encodings"]:
            diff = max(float(np.max(np.abs(np.asarray(x[i]) - np.asarray(y[i]))))
                       for x, y in zip(a["encodings"][ea]["logits"], b["encodings"][eb]["logits"]) for i in (0, 1))
            same = sum(x == y for x, y in zip(a["encodings"][ea]["spans"], b["encodings"][eb]["spans"]))
            lines.append(f"A {ea} vs B {eb}: max |logit diff| {diff:.2e}, same best span {same}/{len(a['questions'])}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-style", type=int, default=4)
    ap.add_argument("--encodings", default="s8,u8")
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--compare", nargs=2, type=Path)
    args = ap.parse_args()
    if args.compare:
        a, b = (json.loads(p.read_text(encoding="utf-8")) for p in args.compare)
        print("\n".join(compare(a, b)))
        return
    report = measure(subset(args.shared, args.per_style), args.encodings.split(","))
    if args.out:
        args.out.write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    main()
