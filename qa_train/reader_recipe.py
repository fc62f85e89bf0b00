"""What the reader's training (train_reader.py) and its export (export_reader.py) agree on:
the run's settings, the questions prepared as token windows, the grid of answer lengths tried,
and the one score that ranks settings (the mean of EM and F1 over the styles)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from qa.read import data as D


@dataclass
class TrainSettings:
    """One training run of the reader (qa train-reader); not the runtime's qa.settings.Settings."""

    layers: int = 6
    max_len: int = 320  # inference windows (tokens, question included)
    stride: int = 96  # overlap of consecutive inference windows
    crop_min: int = 72  # training windows are random crops of 72..176 context tokens
    crop_max: int = 176
    frozen_layers: int = 2  # the embeddings and the lowest layers stay at the base weights (no backward through them)
    batch: int = 16
    lr: float = 2e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 20
    neg_keep: float = 0.3  # per question, chance of also training on a crop of its paragraph without the answer
    cross_ratio: float = 0.3  # per question, chance of a (question, other-article paragraph) pair
    seed: int = 13
    checkpoint_minutes: float = 12.0
    monitor_questions: int = 100
    threads: int = 0  # 0: try 1 and 2 torch threads now and then, keep the faster (the machine is shared)
    balance_styles: bool = False  # repeat the rarer style's questions (CMRC vs DRCD) so each style counts alike per epoch
    precision: str = "auto"  # "bf16" (autocast), "fp32", or "auto": time a step of each on a real batch, keep the faster
    init: str | None = None  # warm start: a checkpoint of an earlier run or an exported .onnx graph (layers it lacks come from the base model)
    template_count: int = 0  # how many template questions (qa_train/templates.py) to train on besides, each once an epoch
    xquad_repeats: int = 0  # how many times an epoch xquad-zh's training-fold questions are read (0: not at all)


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


class Prepared:
    """Questions (and extra ones: template or xquad-zh questions, training only), their encodings and windows, cached by text."""

    def __init__(self, questions, tokenizer, settings: TrainSettings, extra_questions=()) -> None:
        self.questions = questions
        self.extra_questions = list(extra_questions)
        self.settings = settings
        every = list(questions) + self.extra_questions
        contexts = sorted({q.context for q in every})
        qtexts = sorted({q.question for q in every})
        self.ctx = dict(zip(contexts, D.encode_many(tokenizer, contexts)))
        self.qenc = dict(zip(qtexts, D.encode_many(tokenizer, qtexts)))

    def windows(self, q: D.Question, context: str | None = None):
        context = q.context if context is None else context
        s = self.settings
        return D.make_windows(self.qenc[q.question], self.ctx[context], s.max_len, s.stride)

    def labelled(self, q: D.Question):
        """(window, start, end) for every window of the question's own paragraph; (0, 0) = no answer."""
        c = self.ctx[q.context]
        text, start = q.answers[0]
        span = D.answer_tokens(c, start, start + len(text))
        out = []
        for w in self.windows(q):
            if span and w.tok_lo <= span[0] and span[1] < w.tok_hi:
                out.append((w, w.ctx_offset + span[0] - w.tok_lo, w.ctx_offset + span[1] - w.tok_lo))
            else:
                out.append((w, 0, 0))
        return out


ANSWER_TOKEN_GRID = (6, 8, 10, 12, 16, 20, 30, 64)


def mean_em_f1(by_style: dict) -> float:
    return float(np.mean([(v["em"] + v["f1"]) / 2 for v in by_style.values()]))
