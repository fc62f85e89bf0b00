"""What pinyin glosses cost the reader, and what reading passages without them wins back.

Some pages gloss characters with toned pinyin in brackets ("發(fā)現", "荨(qián)麻"); one seed
page glosses 4.4% of its Chinese characters. The reader never saw a gloss in training.
Reading only (gold paragraph given, full windows, answers of at most 64 tokens), the shipped
reader, its validation split (the articles no weight or threshold was chosen on), each
paragraph glossed about as densely as that page: every Chinese character, with probability
``--share`` (default 0.044, the seed page's), followed by its toned pinyin in brackets
(pypinyin; the draw seeded by the question's id). A character of neutral tone, such as 的, is
left unglossed, as on that page, whose 70 glosses all carry a tone mark, so 4.2% of the
paragraphs' characters are glossed. The gold answers are the set's; a gloss is not part of
an answer (`qa.read.data.em_score`).

- ``as the sets write them``: no glosses;
- ``glossed, read as written``: the glossed paragraphs tokenised as they are (until now);
- ``glossed, read without glosses``: what the product does (`qa.read.reader`): the reader
  reads the paragraph without its glosses and maps each span back onto the glossed text.

    .venv/bin/python eval/gloss_reading.py --shared ../shared   # about 10 minutes
"""
from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import replace
from pathlib import Path
from unittest import mock

from qa.read import data as D
from qa.read import reader as reader_module
from qa_train.export_reader import evaluate_reader
from qa.read.reader import Reader
from qa.text.gloss import TONE_MARKS, gloss_spans

_HANZI = re.compile(r"[\u3400-\u9fff]")
_TONED = re.compile(f"[{TONE_MARKS}]")  # the seed page glosses only toned syllables


def glossed(q: D.Question, share: float) -> D.Question:
    """``q`` with its paragraph glossed (answers' offsets moved with it)."""
    from pypinyin import Style, pinyin

    rng = random.Random(f"gloss:{q.qid}")
    parts, shift, moved = [], [0] * (len(q.context) + 1), 0
    for i, ch in enumerate(q.context):
        shift[i] = moved
        parts.append(ch)
        if _HANZI.match(ch) and rng.random() < share:
            reading = pinyin(ch, style=Style.TONE, errors="ignore")
            if reading and reading[0] and _TONED.search(reading[0][0]):
                gloss = f"({reading[0][0]})"
                parts.append(gloss)
                moved += len(gloss)
    shift[len(q.context)] = moved
    answers = tuple((text, start + shift[start]) for text, start in q.answers)
    return replace(q, context="".join(parts), answers=answers)


def _as_written(tokenizer, passages):
    """How the reader encoded passages until now: glosses and all (what the table's middle row measures)."""
    return D.encode_many(tokenizer, [p or "" for p in passages]) if passages else []


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--share", type=float, default=0.044)
    ap.add_argument("--out", type=Path, help="also write the table as JSON here")
    args = ap.parse_args(argv)
    _, valid = D.train_and_validation(D.load_reading_questions(args.shared))
    marked = [glossed(q, args.share) for q in valid]
    glosses = sum(len(gloss_spans(q.context)) for q in marked)
    hanzi = sum(len(_HANZI.findall(q.context)) for q in valid)
    reader = Reader()
    rows = {"as the sets write them": evaluate_reader(reader, valid, grid=(64,))[0][64]}
    with mock.patch.object(reader_module, "_encode_unglossed", _as_written):
        rows["glossed, read as written"] = evaluate_reader(reader, marked, grid=(64,))[0][64]
    rows["glossed, read without glosses"] = evaluate_reader(reader, marked, grid=(64,))[0][64]
    print(f"{len(valid)} validation questions; {glosses} glosses on {hanzi} Chinese characters "
          f"({100 * glosses / max(1, hanzi):.2f}%)")
    print("| paragraphs | CMRC EM / F1 | DRCD EM / F1 |\n|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['cmrc']['em']:.2f} / {row['cmrc']['f1']:.2f} "
              f"| {row['drcd']['em']:.2f} / {row['drcd']['f1']:.2f} |")
    if args.out:
        args.out.write_text(json.dumps({"share": args.share, "glosses": glosses, "hanzi": hanzi, "rows": rows}, ensure_ascii=False, indent=1),
                            encoding="utf-8")


if __name__ == "__main__":
    main()
