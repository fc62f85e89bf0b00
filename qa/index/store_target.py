"""Which passage store an index uses, and opening it. An index records its store in its
manifest (``"store": "milvus://host:19530/zhqa_…"``), so ``qa ask`` and the web chat find
the same store the index was built into without being told again."""
from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from embeddings.passage_store import (
    LOCAL,
    StoreAddress,
    StoreError,
    WritableStore,
    parse_store_address,
)
from qa.errors import ZhqaError
from qa.index.manifest import Manifest


class StoreUnavailable(ZhqaError):
    """The passage store cannot be opened or used."""


@contextmanager
def store_errors():
    """A store's failure (Milvus down, a write refused) as a one-line ZhqaError."""
    try:
        yield
    except StoreError as exc:
        raise StoreUnavailable(str(exc)) from exc


def default_collection(index_dir: Path) -> str:
    """One collection per index folder: its name and a hash of its absolute path."""
    resolved = Path(index_dir).expanduser().resolve()
    slug = re.sub(r"[^A-Za-z0-9]+", "_", resolved.name).strip("_")[:40]
    return f"zhqa_{slug}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:10]}"


@dataclass
class StoreTarget:
    """A store address with its collection resolved, and the open connection to it."""

    address: StoreAddress
    _opened: object | None = field(default=None, repr=False, compare=False)
    _files: object | None = field(default=None, repr=False, compare=False)

    @property
    def text(self) -> str:
        return self.address.text

    @property
    def remote(self) -> bool:
        return self.address.kind != LOCAL

    def files(self):
        """Where the index's generation is published (embeddings/milvus_files.py)."""
        if self._files is None:
            from embeddings.milvus_files import MilvusFiles

            try:
                self._files = MilvusFiles(self.address, self.address.collection)
            except StoreError as exc:
                raise StoreUnavailable(str(exc)) from exc
        return self._files

    def open(self, dim: int, create: bool = False) -> WritableStore:
        """The Milvus store (connected once and kept)."""
        if self._opened is None or create:
            from embeddings.milvus_store import MilvusStore

            try:
                self._opened = MilvusStore(self.address, self.address.collection, dim, create=create)
            except StoreError as exc:
                raise StoreUnavailable(str(exc)) from exc
        return self._opened  # type: ignore[return-value]


_DISCOVERED: dict[tuple[str, str], str] = {}  # (server, index folder) -> the collection chosen, once per process


def server_collection(address: StoreAddress, index_dir: Path) -> str:
    """The collection ``milvus://HOST:PORT`` (no name) means for the index folder ``index_dir``
    with no index of its own: the one index the server publishes, so that the address with and
    without ``/NAME`` serve alike; none published: the folder's own (``default_collection``),
    to build into; several: a StoreUnavailable that names them. Asked once per process."""
    key = (address.uri, str(Path(index_dir).expanduser().resolve()))
    if key not in _DISCOVERED:
        from embeddings.milvus_files import published_collections

        try:
            published = published_collections(address)
        except StoreError as exc:
            raise StoreUnavailable(str(exc)) from exc
        own = default_collection(index_dir)
        if len(published) > 1 and own not in published:
            names = ", ".join(published[:5]) + (", …" if len(published) > 5 else "")
            raise StoreUnavailable(f"{address.text} publishes {len(published)} indexes ({names}); name one, "
                                   f"e.g. --store {replace(address, collection=published[0]).text}.")
        _DISCOVERED[key] = own if own in published or not published else published[0]
    return _DISCOVERED[key]


def serving_folder(store: str, index_dir: Path) -> tuple[str, Path]:
    """For a Milvus server address given without an index folder: the address with its
    collection named (the one the server publishes, else the one ``index_dir`` would get) and
    the folder under ``index_dir`` that keeps this store's copy of the published index, apart
    from a local index there."""
    address = parse_store_address(store)
    if address.kind != "milvus":
        return store, index_dir
    if not address.collection:
        address = replace(address, collection=server_collection(address, index_dir))
    return address.text, Path(index_dir) / "stores" / address.collection


def resolve_store(store: str | None, index_dir: Path, manifest: Manifest | None) -> StoreTarget:
    """The store to use: ``store`` as given (``--store``), else the one the index records,
    else the local one. A Lite file is recorded by its absolute path."""
    recorded = manifest.store if manifest is not None else LOCAL
    try:
        address = parse_store_address(store if store else recorded)
    except StoreError as exc:
        raise StoreUnavailable(str(exc)) from exc
    if address.kind == "milvus-lite":
        address = replace(address, uri=str(Path(address.uri).expanduser().resolve()))
    if address.kind == "milvus" and not address.collection:
        # A server named without a collection: the one this index records, else (an empty
        # folder) the one the server publishes, as if it had been named.
        where = parse_store_address(recorded or LOCAL)
        if manifest is not None and where.kind == "milvus" and where.collection:
            address = replace(address, collection=where.collection)
        elif manifest is None:
            address = replace(address, collection=server_collection(address, index_dir))
    if address.kind != LOCAL and not address.collection:
        address = replace(address, collection=default_collection(index_dir))
    return StoreTarget(address)


def same_store(recorded: str, address: StoreAddress) -> bool:
    """Whether the store an index records is ``address``. A Milvus server is known by its
    collection alone: machines behind a load balancer may name one server differently."""
    where = parse_store_address(recorded or LOCAL)
    if where.kind == "milvus" and address.kind == "milvus":
        return where.collection == address.collection
    return (where.kind, where.uri, where.collection) == (address.kind, address.uri, address.collection)


def check_matches(target: StoreTarget, manifest: Manifest, index_dir: Path) -> None:
    """An index built into one store cannot be searched in another."""
    recorded = manifest.store or LOCAL
    if not same_store(recorded, target.address):
        raise StoreUnavailable(f"The index in {index_dir} is stored in {recorded}, not {target.text}; "
                               f"ask with --store {recorded} or rebuild with `qa index --store {target.text}`.")
