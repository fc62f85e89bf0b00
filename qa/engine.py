"""The one library entry point: ``QA(settings).ask(question) -> Answer``, plus indexing,
removal and information. The CLI and the web chat only parse, call this and format."""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from embeddings.encoder import DEFAULT_MODEL, Encoder, EncoderError
from embeddings.passage_store import KeywordsElsewhere, PassageStore
from qa.answer.choice import SPANS_PER_WINDOW, load_choice, read_windows
from qa.answer.confidence import load_confidence
from qa.answer.snippets import answer
from qa.cpu import processor
from qa.errors import (
    BadQuestion,
    CorpusError,
    IndexDamaged,
    IndexNotFound,
    ModelLoadError,
    ModelMismatch,
    ZhqaError,
)
from qa.index.build import IndexReport, covered, write_index
from qa.index.folder import IndexData, IndexFolder, local_store
from qa.index.manifest import Manifest
from qa.index.published import publish, pull, unpublished_passages
from qa.index.store_target import (
    StoreTarget,
    StoreUnavailable,
    check_matches,
    resolve_store,
    store_errors,
)
from qa.ingest.load import JSONL_SUFFIXES, load_corpus, sha256_text
from qa.question import antecedent, followup
from qa.question.followup import EarlierAnswer, Resolved
from qa.question.query import Query, make_query, with_name_aliases
from qa.records import UPLOAD_NAMESPACE, Answer, Document
from qa.retrieve.fusion import load_model
from qa.retrieve.rerank import learned_rerank, rerank
from qa.retrieve.search import Retriever
from qa.retrieve.sentences import SentenceEvidence
from qa.settings import Settings, default_corpus
from qa.text.wellformed import visible, well_formed
from qa.timing import stage

# The latest earlier questions a follow-up is resolved against (older ones are not read);
# how long a history the /ask API accepts at all is qa/web/handlers.py's MAX_HISTORY.
FOLLOWUP_CONTEXT = 10
EARLIER_ANSWERS_KEPT = 256  # earlier questions' answers remembered (the oldest go first)
MAX_NAME_CHARS = 200  # of an uploaded document's name, kept in its id


def _as_upload(doc: Document, name: str, path: Path, when: str, uploader: str | None) -> Document:
    """``doc`` (loaded from the uploaded file ``path``, shown to the user as ``name``) as
    an upload: its own namespace, well-formed text, the original id kept."""
    original = visible(doc.id if path.suffix.lower() in JSONL_SUFFIXES else name).strip()[:MAX_NAME_CHARS] or path.name
    text = well_formed(doc.text)
    sha = sha256_text(text)
    title = doc.title if doc.title != doc.id else original  # the loader's fallback title is the server's file name
    return replace(doc, id=f"{UPLOAD_NAMESPACE}{sha[:12]}/{original}", text=text, sha256=sha, title=visible(title).strip(),
                   source=visible(doc.source).strip(), date=visible(doc.date).strip(), original_id=original,
                   uploaded_at=when, uploaded_by=visible(uploader or "").strip()[:MAX_NAME_CHARS])


class Retrieved(NamedTuple):
    """What one question retrieved: the query as searched, its hits (best first), the
    sentence evidence that scored them, and the index generation they come from."""

    query: Query
    hits: list
    evidence: SentenceEvidence
    data: IndexData


class LoadedIndex(NamedTuple):
    """One generation of the index and the passage store searched with it."""

    data: IndexData
    store: PassageStore


class QA:
    """Question answering over one index. The model loads once, on first need; the index
    is reloaded when another process (or an upload) commits a new generation."""

    def __init__(self, settings: Settings | None = None, encoder: Encoder | None = None) -> None:
        self.settings = settings or Settings()
        self.folder = IndexFolder(self.settings.index_dir)
        self._encoder = encoder
        self._reader = None
        self._data: IndexData | None = None
        self._search = None  # the PassageStore that goes with self._data
        self._generation = ""
        self._lock = threading.RLock()
        # The models have locks of their own: one loading in the background (warm_up) must not
        # hold up the index, the question's words and the retrieval that need no model.
        self._encoder_lock = threading.Lock()
        self._reader_lock = threading.Lock()
        self.problem: str | None = None  # why a newer index on disk is not the one serving
        self._unusable = ""  # that newer generation
        self._followed: StoreTarget | None = None  # the remote store whose published index this one follows
        self._followed_at = -float("inf")  # when it was last asked
        # Earlier questions' answers, kept so that a chat does not ask its history again at
        # every turn: (generation, mode, articles, question) -> EarlierAnswer or None.
        self._earlier_answered: dict[tuple, EarlierAnswer | None] = {}

    # -- heavy things, loaded lazily and once --------------------------------------------
    @property
    def encoder(self) -> Encoder:
        with self._encoder_lock:
            if self._encoder is None:
                try:
                    self._encoder = Encoder(self.settings.model)
                except EncoderError as exc:
                    raise ModelLoadError(str(exc)) from exc
            return self._encoder

    @property
    def reader(self):
        """The extractive reader (qa/read), loaded on first need."""
        with self._reader_lock:
            if self._reader is None:
                from qa.read.reader import Reader, ReaderModelError

                try:
                    reader = Reader()
                    reader.warm_up()
                except ReaderModelError as exc:
                    raise ModelLoadError(f"{exc} Reinstall zhqa, or ask without the reader (Settings(reader=False)).") from exc
                self._reader = reader
            return self._reader

    def warm_up(self, mode: str = "hybrid", background: bool = False) -> None:
        """Load the models a question in ``mode`` needs (the encoder unless bm25, the reader
        unless settings.reader is off). ``background``: in a thread, returning at once, so a
        cold process loads its index and the question's words while ONNX Runtime (which lets
        go of the GIL) opens the sessions; a failure is raised where the model is next used."""
        def load() -> None:
            try:
                if mode != "bm25":
                    _ = self.encoder
                if self.settings.reader:
                    _ = self.reader
            except ZhqaError:
                if not background:
                    raise
        if background:
            # Not a daemon: a process that ends early (a damaged index) waits for ONNX Runtime
            # to finish rather than tearing it down under a running session build.
            threading.Thread(target=load, name="zhqa-warm-up").start()
        else:
            load()

    def data(self) -> IndexData:
        """The current index, reloaded only when a newer generation has been committed."""
        self._follow_store()
        with self._lock:
            generation = self.folder.generation()
            if not generation:
                raise IndexNotFound(f"No index in {self.folder.root}; build one with `qa index`.")
            if self._data is None or generation not in (self._generation, self._unusable):
                try:
                    return self._reload(generation)
                except (IndexDamaged, ModelMismatch) as exc:
                    if self._data is None:
                        raise
                    # A newer generation that cannot be used (damaged, another model): the
                    # index already loaded keeps serving; the problem is named once, and that
                    # generation is not tried again.
                    self._unusable, self.problem = generation, str(exc)
                    print(f"zhqa: {exc} Still serving the index loaded before.", file=sys.stderr, flush=True)
            return self._data

    def _reload(self, generation: str) -> IndexData:
        with self._lock:
            data = self.folder.load()
            model = data.manifest.model
            if model != self.settings.model:
                if self.settings.model != DEFAULT_MODEL and not Path(self.settings.model).expanduser().is_dir():
                    raise ModelLoadError(f"Model {self.settings.model!r} is not a folder on this machine; give the path of a "
                                         f"sentence-transformers model folder, or leave --model out to use the index's {model!r}.")
                raise ModelMismatch(
                    f"The index in {self.folder.root} was built with model {model!r}, not {self.settings.model!r}; "
                    f"ask with --model {model} or rebuild with `qa index --model {self.settings.model}`."
                )
            self._data, self._search, self._generation = data, self._search_store(data), generation
            self.problem = None
            return self._data

    def target(self, manifest: Manifest | None) -> StoreTarget:
        """The passage store for this index: --store, else what the index records, else local."""
        return resolve_store(self.settings.store, self.folder.root, manifest)

    def _search_store(self, data: IndexData):
        target = self.target(data.manifest)
        check_matches(target, data.manifest, self.folder.root)
        if not target.remote:
            return local_store(data)
        remote = target.open(data.manifest.dimension)
        if remote.keywords == "local":
            why = "keywords=local" if target.address.keywords == "local" else "this Milvus takes no sparse vectors"
            return KeywordsElsewhere(remote, local_store(data), why)
        return remote

    def passage_store(self):
        """Where this index's passages are searched (LocalStore or MilvusStore)."""
        return self.loaded().store

    def loaded(self) -> LoadedIndex:
        """The index now serving and where its passages are searched, as one pair: an
        evaluation answers every question from this one generation even if an upload or
        another process commits a newer one meanwhile."""
        self._follow_store()
        with self._lock:
            data = self.data()
            return LoadedIndex(data, self._search)

    def _remote_target(self) -> StoreTarget | None:
        """The remote store this index is kept in: --store, else what the local copy records."""
        manifest = None
        if not self.settings.store:
            try:
                manifest = self.folder.read_manifest() if self.folder.exists() else None
            except (IndexNotFound, IndexDamaged):
                manifest = None
        target = self.target(manifest)
        if not target.remote:
            return None
        if self._followed is None or self._followed.address != target.address:
            self._followed = target
        return self._followed

    def _follow_store(self, force: bool = False) -> None:
        """With a Milvus server store, fetch the index generation it publishes when it is
        newer than the local copy: asked at most every ``settings.store_poll`` seconds, and
        (``force``) before every write, which already holds the folder's writer lock.

        A poll fetches only when no write holds that lock (the write publishes, then serves
        its own generation). A poll that fails while an index is loaded keeps serving it and
        names the problem once; questions then fail or not on the store's own search."""
        if not force and time.monotonic() - self._followed_at < self.settings.store_poll:
            return
        self._followed_at = time.monotonic()
        target = self._remote_target()
        if target is None or target.address.kind != "milvus":
            return
        if force:
            pull(self.folder, target, force=True)
            return
        try:
            with self.folder.try_lock() as held:
                if held:
                    pull(self.folder, target)
        except ZhqaError as exc:
            if self._data is None:
                self._followed_at = -float("inf")  # nothing to serve yet: ask again next time
                raise
            if self.problem != str(exc):
                self.problem = str(exc)
                print(f"zhqa: {exc} Still serving the index loaded before.", file=sys.stderr, flush=True)

    def _previous(self) -> IndexData | None:
        if not self.folder.exists():
            return None
        try:
            return self.folder.load()
        except Exception:  # noqa: BLE001 - a damaged index is rebuilt from scratch
            return None

    # -- writing ------------------------------------------------------------------------
    def index(self, paths: list[Path | str] | None = None, add: bool = False, progress: bool = False, on_wait=None,
              allow_private_urls: bool = False) -> IndexReport:
        """Make the index hold the documents under ``paths`` (default: the bundled seeds):
        files, folders and http(s) URLs, whose fetched bytes are kept in the index folder's
        ``fetched/``. With ``add``, keep the documents already indexed and add or update these."""
        loaded = load_corpus(list(paths) if paths else default_corpus(), allow_private_urls=allow_private_urls,
                             fetched_dir=self.folder.root / "fetched")
        report = IndexReport(warnings=list(loaded.warnings), not_indexed=list(loaded.skipped))

        def documents_from(previous: IndexData | None) -> dict[str, Document]:
            documents: dict[str, Document] = {}
            if add and previous is not None:
                documents.update(previous.documents)
            indexed_text = {d.sha256: d.id for d in documents.values()}
            for doc in loaded.documents:
                twin = indexed_text.get(doc.sha256)
                if twin is not None and twin != doc.id:
                    report.warnings.append(f"{doc.path}: same text as the indexed {twin!r}; kept once.")
                    continue
                documents[doc.id] = doc
            if not loaded.documents and not add:
                if len(loaded.skipped) == 1:  # one file or URL: say why it failed
                    raise CorpusError(f"No readable documents were found: {loaded.warnings[0]}")
                raise CorpusError("No readable documents were found; give a folder of .txt/.md/.html files or a .jsonl corpus.")
            return documents

        return self._write(documents_from, report, on_wait=on_wait, progress=progress, damaged_ok=True)

    def remove(self, doc_ids: list[str]) -> IndexReport:
        """Drop documents from the index; nothing is re-embedded."""

        def documents_from(previous: IndexData) -> dict[str, Document]:
            unknown = [d for d in doc_ids if d not in previous.documents]
            if unknown:
                raise CorpusError(f"Not in the index: {', '.join(unknown)}; see the indexed ids with `qa info --documents`.")
            return {k: v for k, v in previous.documents.items() if k not in set(doc_ids)}

        return self._write(documents_from, IndexReport())

    def add_uploads(self, paths: Sequence[Path], uploader: str | None = None, names: Mapping[str, str] | None = None,
                    max_documents: int | None = None, max_chars: int | None = None) -> IndexReport:
        """Add the documents of files uploaded through the web chat, never replacing one.

        Each gets an id of the upload namespace, ``upload/<sha256 prefix>/<name>``, so no
        upload can replace or remove an article it did not add: the name (the ``id`` of a
        ``.jsonl`` line, else the file name as uploaded, from ``names`` by saved path) is
        kept as ``original_id``. A document whose text is already indexed is not added
        again. ``max_documents`` and ``max_chars`` bound all uploaded documents together."""
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        report = IndexReport()
        uploads: list[Document] = []
        for path in paths:  # one file at a time: each document knows the file it came from
            path = Path(path)
            loaded = load_corpus([path])
            report.warnings += loaded.warnings
            name = (names or {}).get(str(path), path.name)
            for doc in loaded.documents:
                uploads.append(_as_upload(doc, name, path, when, uploader))

        def documents_from(previous: IndexData) -> dict[str, Document]:
            documents = dict(previous.documents)
            indexed_text = {d.sha256: d.id for d in documents.values()}
            for doc in uploads:
                twin = indexed_text.get(doc.sha256)
                if twin is not None:
                    report.warnings.append(f"{doc.original_id}: same text as the indexed {twin!r}; not added again.")
                    continue
                documents[doc.id] = doc
                indexed_text[doc.sha256] = doc.id
            uploaded = [d for d in documents.values() if d.uploaded]
            if max_documents is not None and len(uploaded) > max_documents:
                raise CorpusError(f"The index would hold {len(uploaded)} uploaded documents, more than the {max_documents} "
                                  "allowed; remove uploaded documents in the Corpus tab first.")
            if max_chars is not None and sum(len(d.text) for d in uploaded) > max_chars:
                raise CorpusError(f"Uploaded documents would hold more than {max_chars:,} characters in all; "
                                  "remove uploaded documents in the Corpus tab first.")
            return documents

        return self._write(documents_from, report)

    def remove_uploads(self, doc_ids: Sequence[str]) -> IndexReport:
        """Remove documents that were uploaded through the web chat, and only those."""
        documents = self.data().documents
        not_uploaded = [d for d in doc_ids if d not in documents or not documents[d].uploaded]
        if not_uploaded:
            raise CorpusError(f"Not an uploaded document: {', '.join(not_uploaded)}; only uploaded documents can be "
                              "removed here (the operator removes corpus articles with `qa remove`).")
        return self.remove(list(doc_ids))

    def _write(self, documents_from: Callable[[IndexData | None], dict[str, Document]], report: IndexReport,
               on_wait=None, progress: bool = False, damaged_ok: bool = False) -> IndexReport:
        """The one way the index is written, for ``index``, ``remove`` and the uploads: under
        the folder's writer lock, catch up with the store's published index, read the index
        as it stands (with ``damaged_ok``, a damaged or missing one reads as None and is
        rebuilt; else it must load), let ``documents_from`` say what the new one holds (a
        CorpusError there writes nothing), write it, publish it, then serve it."""
        with self.folder.lock(self.settings.lock_timeout, on_wait):
            self._follow_store(force=True)
            previous = self._previous() if damaged_ok else self.folder.load()
            documents = documents_from(previous)
            target = self.target(previous.manifest if previous is not None else None)
            with store_errors():
                data = write_index(self.folder, documents, lambda: self.encoder, self.settings, report, previous, progress, target)
            publish(self.folder, target)
            committed = self.folder.generation()
        self._install(data, committed)
        return report

    def _install(self, data: IndexData | None, generation: str) -> None:
        """Serve ``data``, the generation ``generation`` this process just committed."""
        with self._lock:
            if data is not None:
                self._data, self._search, self._generation = data, self._search_store(data), generation

    def ensure_index(self, progress: bool = False, announce: Callable[[str], None] | None = None) -> IndexReport | None:
        """Index the bundled seeds if there is no index yet (here, or published in the
        Milvus store), first telling ``announce``."""
        target = self._remote_target()
        stored = 0
        if target is not None and target.address.kind == "milvus":
            with self.folder.lock(self.settings.lock_timeout):
                self._follow_store(force=True)
                stored = 0 if self.folder.exists() else unpublished_passages(target)
        if stored:
            raise StoreUnavailable(f"{target.text} holds {stored} passages but no published index; publish it with "
                                   f"`qa index --store {target.text} --index-dir FOLDER` from the folder that built it.")
        if self.folder.exists():
            return None
        if announce is not None:
            announce(f"No index yet: indexing the bundled seeds/ into {self.folder.root} first…")
        return self.index(progress=progress)

    # -- reading ------------------------------------------------------------------------
    def ask(self, question: str | Query, k: int = 5, mode: str = "hybrid", doc_ids: list[str] | None = None,
            history: Sequence[str] = ()) -> Answer:
        """Answer ``question`` from the index: snippets with citations, or an honest no.

        ``history`` holds the earlier questions of the conversation, oldest first, as they
        were typed: a follow-up such as "他的妻子是做什么的？" after "董健是谁？" is asked as
        "董健的妻子是做什么的？", as typed (not a rewritten ellipsis: 那李楠呢？), and after the
        earlier question (followup.readings);
        the answer says which reading it answers (``Answer.asked``)."""
        with stage("normalise"):
            query = question if isinstance(question, Query) else make_query(question)
            options = self.followup_readings(query.text, history, mode, doc_ids) if history else ()
        if len(options) <= 1:
            return self.answer_query(query, k=k, mode=mode, doc_ids=doc_ids)
        # A follow-up is asked in each of its readings; of those the corpus answers, the one
        # whose first snippet scores best is kept (its sentence answers its reading best),
        # else the first reading's honest no.
        results = []
        for reading in options:
            asked = make_query(reading.query) if reading.rewritten else query
            result = self.answer_query(asked, k=k, mode=mode, doc_ids=doc_ids)
            results.append(replace(result, question=query.text, asked=asked.text) if asked is not query else result)
        answered = [r for r in results if r.answered and r.snippets]
        return max(answered, key=lambda r: r.snippets[0].score) if answered else results[0]

    def resolve_followup(self, question: str, history: Sequence[str], mode: str = "hybrid",
                         doc_ids: list[str] | None = None) -> Resolved:
        """What ``question`` means after ``history`` (earlier questions as typed, oldest
        first): each earlier question is resolved against those before it, so a chain of
        follow-ups keeps its subject; a pronoun may stand for an earlier question's answer,
        found by asking it in ``mode`` over ``doc_ids`` as the conversation does."""
        answer_of = self._earlier_answers(mode, doc_ids)
        return followup.resolve(question, self._earlier(history, answer_of), weight=self.data().bm25.idf,
                                answer_of=answer_of)

    def followup_readings(self, question: str, history: Sequence[str], mode: str = "hybrid",
                          doc_ids: list[str] | None = None) -> tuple[Resolved, ...]:
        """The readings ``ask`` tries for ``question`` after ``history`` (followup.readings)."""
        answer_of = self._earlier_answers(mode, doc_ids)
        return followup.readings(question, self._earlier(history, answer_of), weight=self.data().bm25.idf,
                                 answer_of=answer_of)

    def _earlier_answers(self, mode: str, doc_ids: list[str] | None) -> Callable[[str], EarlierAnswer | None]:
        """The trusted answer of an earlier question (as sent to retrieval), asked through
        ``ask`` the first time a pronoun may stand for it (the API sends only the questions),
        and remembered for this index generation."""
        articles = tuple(sorted(doc_ids)) if doc_ids else ()

        def answer_of(question: str) -> EarlierAnswer | None:
            self.data()  # the generation that answers
            key = (self._generation, mode, articles, question)
            if key not in self._earlier_answered:
                found = antecedent.from_answer(question, self.ask(question, mode=mode, doc_ids=doc_ids))
                while len(self._earlier_answered) >= EARLIER_ANSWERS_KEPT:
                    try:  # another thread may be trimming too
                        self._earlier_answered.pop(next(iter(self._earlier_answered)), None)
                    except (StopIteration, RuntimeError):
                        break
                self._earlier_answered[key] = found
            return self._earlier_answered[key]

        return answer_of

    def _earlier(self, history: Sequence[str], answer_of: Callable[[str], EarlierAnswer | None] | None = None) -> list[str]:
        if isinstance(history, str) or not all(isinstance(h, str) for h in history):
            raise BadQuestion("The history must be a list of the earlier questions, as text.")
        weight = self.data().bm25.idf
        earlier: list[str] = []
        for text in list(history)[-FOLLOWUP_CONTEXT:]:
            text = text.strip()
            if text:
                earlier.append(followup.resolve(text, earlier, weight=weight, answer_of=answer_of).query)
        return earlier

    def answer_query(self, query: Query, k: int = 5, mode: str = "hybrid", doc_ids: list[str] | None = None,
                     query_vector=None, index: LoadedIndex | None = None) -> Answer:
        """``ask`` for an already validated query, optionally with its vector precomputed
        (evaluation encodes all questions in one batch) and against a pinned ``index``
        (``loaded()``) instead of the newest one."""
        found = self.retrieve(query, k, mode, doc_ids, query_vector, index)
        query = found.query
        read, choice = self.reading(query)
        sure = None
        # The confidence was fitted on hybrid answers, whose features hold both retrievers'
        # ranks and scores; dense or BM25 alone leave half of them empty (out of what it saw:
        # it refused "清徐县是在哪里发现初筛阳性人员的？" in BM25 mode), so they keep the hand-set rule.
        if read is not None and self.settings.confidence_model is not None and mode == "hybrid":
            sure = load_confidence(str(self.settings.confidence_model))
        with stage("snippets"):
            return answer(query, found.hits, found.data, self.settings.abstain_threshold, mode, found.evidence, read, choice,
                          lead=self.settings.answer_passage_first and mode == "hybrid", sure=sure)

    def reading(self, query: Query):
        """(read, choice): the function that reads the candidate sentences' windows for
        ``query`` (None without the reader) and the sentence choice (None without one)."""
        read, choice = None, None
        if self.settings.reader:
            reader, tokens = self.reader, self.settings.read_tokens
            if self.settings.choice_model is not None:
                choice = load_choice(str(self.settings.choice_model))
            spans = choice.spans if choice is not None else SPANS_PER_WINDOW

            def read(cands):
                with stage("read"):
                    return read_windows(reader, query, cands, tokens, spans)

        return read, choice

    def retrieve(self, query: Query, k: int = 5, mode: str = "hybrid", doc_ids: list[str] | None = None,
                 query_vector=None, index: LoadedIndex | None = None) -> Retrieved:
        """The passages ``answer_query`` answers from, best first, with the sentence evidence
        that scored them (the query as searched: with name aliases)."""
        data, search = index or self.loaded()
        with stage("normalise"):
            query = with_name_aliases(query, data)
        if query_vector is None:
            with stage("encode"):
                query_vector = self.encoder.encode_queries([query.normalized])[0]
        retriever = Retriever(data, self.encoder, self.settings, search)
        # Sentence scores, shared by reranking and snippet selection.
        evidence = SentenceEvidence(query, data, query_vector if mode != "bm25" else None)
        with stage("fusion"), store_errors():  # candidates (minus the dense and bm25 stages), fusion, reranking
            if mode == "hybrid" and self.settings.rerank_weight > 0:
                depth = max(k, self.settings.rerank_depth)
                hits = retriever.search(query, k=depth, mode=mode, doc_ids=doc_ids, query_vector=query_vector)
                if self.settings.fusion == "learned":
                    hits = learned_rerank(hits, evidence, load_model(str(self.settings.fusion_model)).rerank)[:k]
                else:
                    hits = rerank(hits, evidence, self.settings.rerank_weight)[:k]
            else:
                hits = retriever.search(query, k=k, mode=mode, doc_ids=doc_ids, query_vector=query_vector)
        return Retrieved(query, hits, evidence, data)

    def documents(self) -> list[Document]:
        return list(self.data().documents.values())

    def info(self) -> dict:
        manifest = self.folder.read_manifest()
        data = self.data()
        with store_errors():
            where = self.passage_store().describe()
        spans: dict[str, list[tuple[int, int]]] = {}
        for p in data.passages:
            spans.setdefault(p.doc_id, []).append((p.start, p.end))
        return {
            "index_dir": str(self.folder.root),
            "store": where,
            "documents": len(data.documents),
            "passages": len(data.passages),
            "model": manifest.model,
            "dimension": manifest.dimension,
            "chunking": asdict(manifest.chunking),
            "index_bytes": manifest.index_bytes,
            "built_at": manifest.built_at,
            "corpus_fingerprint": manifest.corpus_fingerprint,
            "versions": manifest.versions,
            "processor": processor().as_dict(),  # the int8 reader's numbers depend on it (qa.cpu)
            "document_list": [
                {"id": d.id, "title": d.title, "source": d.source, "date": d.date, "author": d.author,
                 "passages": data.passage_counts.get(d.id, 0), "chars": len(d.text), "kept": covered(spans.get(d.id, []))}
                for d in data.documents.values()
            ],
        }
