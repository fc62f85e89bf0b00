"""Read candidate readers in fp32 torch on the validation folds, as the reader card's bars ask.

    python eval/reader_candidates.py --shared ../shared qa/read/model/reader.onnx /tmp/reader/run12/ckpt_step02100.pt

Each candidate is a checkpoint (``.pt``) or an exported graph (``.onnx``, its weights read
back). Reported per style: CMRC 2018 and DRCD validation (fold_of(title) == 0 of the reader's
four sets) and xquad-zh's validation fold, best non-null span of at most 64 tokens; ``mean4``
is the mean of the four CMRC/DRCD EM and F1 figures the card's bars are written on. Nothing is
chosen here: it prints a table (and ``--json``), the bar decides.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.read import data as D  # noqa: E402
from qa_train.reader_recipe import Prepared, TrainSettings  # noqa: E402
from qa_train.train_reader import default_model_dir, load_weights, predict_torch, score_predictions  # noqa: E402

ANSWER_TOKENS = 64


def validation_questions(shared: Path) -> list[D.Question]:
    """The reader's validation split and xquad-zh's validation fold (never trained on)."""
    sources = tuple(D.SOURCES) + tuple(D.MORE_SOURCES)
    return D.train_and_validation(D.load_reading_questions(shared, sources))[1]


def read_candidate(path: Path, prep: Prepared, model_dir: Path, layers: int) -> dict:
    from qa_train.reader_model import load_base

    model = load_base(model_dir, layers)
    missing, unexpected = model.load_state_dict(load_weights(path), strict=False)
    if unexpected or any("encoder.layer" in k or k.startswith("head.") for k in missing):
        raise SystemExit(f"{path} does not fit a {layers}-layer reader: it lacks or adds layer weights.")
    logits = predict_torch(model, prep, prep.questions, precision="fp32")
    table = score_predictions(prep, prep.questions, logits, grid=(ANSWER_TOKENS,))[ANSWER_TOKENS]
    four = [table[s][m] for s in ("cmrc", "drcd") for m in ("em", "f1")]
    return {"styles": table, "mean4": round(sum(four) / 4, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", type=Path, nargs="+")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--limit", type=int, default=0, help="read only the first N questions of each style (a smoke run)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 beside a training run)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    questions = validation_questions(args.shared)
    if args.limit:
        questions = [q for s in ("cmrc", "drcd", "xquad") for q in [q for q in questions if q.style == s][: args.limit]]
    model_dir = default_model_dir()
    prep = Prepared(questions, D.load_tokenizer(model_dir), TrainSettings(layers=args.layers))
    results = {}
    for path in args.candidates:
        results[str(path)] = r = read_candidate(path, prep, model_dir, args.layers)
        cells = "  ".join(f"{s} {v['em']:.2f} / {v['f1']:.2f} (n {v['n']})" for s, v in r["styles"].items())
        print(f"{path}: {cells}  mean4 {r['mean4']:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
