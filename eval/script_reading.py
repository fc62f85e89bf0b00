"""What the question's script costs the reader, and what reading it in the passage's script
wins back. Reading only (gold paragraph given, full windows, answers of at most 64 tokens),
the shipped reader, its validation split (the articles no weight or threshold was chosen
on):

- ``native``: the questions as written (CMRC simplified, DRCD traditional);
- ``other script, as written``: each question converted into the other script character by
  character (OpenCC t2s / s2t; the wording stays the set's), read as typed;
- ``other script, matched``: the same questions, read in their passage's script (what the
  product does, `qa.text.script.in_script`).

    .venv/bin/python eval/script_reading.py --shared ../shared   # about 7 minutes
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from qa.read import data as D
from qa_train.export_reader import evaluate_reader
from qa.read.reader import Reader
from qa.text.script import in_script


def other_script(q: D.Question) -> D.Question:
    """The question in the other script's characters (OpenCC t2s or s2t)."""
    return replace(q, question=in_script(q.question, "traditional" if q.style == "cmrc" else "simplified"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--out", type=Path, help="also write the table as JSON here")
    args = ap.parse_args(argv)
    _, valid = D.train_and_validation(D.load_reading_questions(args.shared))
    crossed = [other_script(q) for q in valid]
    changed = sum(a.question != b.question for a, b in zip(valid, crossed))
    matched, as_written = Reader(), Reader(match_script=False)
    rows = {
        "native": evaluate_reader(matched, valid, grid=(64,))[0][64],
        "other script, as written": evaluate_reader(as_written, crossed, grid=(64,))[0][64],
        "other script, matched": evaluate_reader(matched, crossed, grid=(64,))[0][64],
    }
    print(f"{len(valid)} validation questions, {changed} of them changed by the conversion")
    print("| questions | CMRC EM / F1 | DRCD EM / F1 |\n|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['cmrc']['em']:.2f} / {row['cmrc']['f1']:.2f} "
              f"| {row['drcd']['em']:.2f} / {row['drcd']['f1']:.2f} |")
    if args.out:
        args.out.write_text(json.dumps({"changed": changed, "rows": rows}, ensure_ascii=False, indent=1),
                            encoding="utf-8")


if __name__ == "__main__":
    main()
