"""One tokenizer per file and process. The encoder and the reader use the same
multilingual-e5-small vocabulary (a 13 MB tokenizer.json that takes about a second of CPU
to load): loaded once and shared, it is never configured by either. Truncation, which only
the encoder wants, is done per call (``encode_truncated``)."""
from __future__ import annotations

import threading
from pathlib import Path

_LOADED: dict[str, object] = {}
_LOCK = threading.Lock()


def shared_tokenizer(path: Path):
    """The ``tokenizers.Tokenizer`` of ``path`` (a tokenizer.json), loaded on first use. Treat
    it as read-only: ``encode``/``encode_batch`` are safe from many threads."""
    key = str(Path(path).resolve())
    with _LOCK:
        tokenizer = _LOADED.get(key)
        if tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(key)
            # As its users expect it: no padding, no truncation (a tokenizer.json may ask for either).
            tokenizer.no_padding()
            tokenizer.no_truncation()
            _LOADED[key] = tokenizer
    return tokenizer


def encode_truncated(tokenizer, texts: list[str], max_length: int) -> list:
    """``encode_batch`` as with ``enable_truncation(max_length)``, without changing the shared
    tokenizer: the tokens are cut to leave room for the special tokens, which the post-processor
    then adds (the order the tokenizers library itself follows)."""
    room = max_length - tokenizer.num_special_tokens_to_add(False)
    encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
    out = []
    for encoding in encodings:
        if len(encoding.ids) > room:
            encoding.truncate(room)
        out.append(tokenizer.post_process(encoding))
    return out
