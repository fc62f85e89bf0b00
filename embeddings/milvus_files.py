"""An index generation's files kept in Milvus beside its passages, so that a chat server
needs only the Milvus address: it fetches the generation it serves from here (its local
folder is a cache) and notices when another process publishes a newer one.

One collection, ``<passages collection>_files``, holds each file of a generation in parts
of at most 48,000 bytes (base64 in a VARCHAR: Milvus has no blob field) and one pointer
row, ``CURRENT``, that names the published generation and the size and SHA-256 of each of
its files. Publishing writes every part of the new generation, then switches the pointer
in one upsert, then deletes the parts of the generation it replaced: a reader finds the
generation the pointer names complete (a fetch that meets a part deleted under it fails its
hash check and is retried on the newer pointer), and a publish killed halfway leaves the
old one published and orphan parts that a publish deletes once they are an hour old. Two
publishes at the same moment never delete each other's parts; the later pointer wins.

Milvus collections need a vector field; this one's is two zeros per row.
"""
from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from .milvus_store import (
    _READING,
    _WRITING,
    _milvus_boundary,
    read_consistency,
    shared_client,
)
from .passage_store import StoreAddress, StoreError

POINTER = "CURRENT"
PART_BYTES = 48_000  # base64 of this is 64,000 characters, under VARCHAR's 65,535
_ROWS_PER_WRITE = 48  # about 3 MB per request
_DIM = 2
STALE_AFTER_S = 3600  # parts of an unpublished generation older than this are a dead publish's


@dataclass(frozen=True)
class Published:
    """The generation a store publishes: its name and, per file (path relative to the
    generation folder), its size in bytes and SHA-256."""

    generation: str
    files: dict[str, tuple[int, str]]

    @property
    def bytes(self) -> int:
        return sum(size for size, _ in self.files.values())


def files_collection(passages_collection: str) -> str:
    return f"{passages_collection}_files"


FILES_SUFFIX = "_files"


@_milvus_boundary("Looking for a published index in", "check that Milvus is running")
def published_collections(address: StoreAddress, client=None) -> list[str]:
    """The passages collections of the server at ``address`` that publish an index (their
    files collection holds a pointer), sorted; what ``milvus://HOST:PORT`` with no collection
    name can mean."""
    client = client or shared_client(address)
    found = []
    for name in sorted(client.list_collections()):
        passages = name[: -len(FILES_SUFFIX)]
        if not name.endswith(FILES_SUFFIX) or not passages or not client.has_collection(passages):
            continue
        client.load_collection(name)
        if client.query(name, filter=f'key == "{POINTER}"', output_fields=["key"]):
            found.append(passages)
    return found


class MilvusFiles:
    """The published index generation of one passages collection."""

    @_milvus_boundary("Opening", "check that Milvus is running")
    def __init__(self, address: StoreAddress, passages_collection: str, client=None) -> None:
        self.address = address
        self.collection = files_collection(passages_collection)
        self.passages_collection = passages_collection
        self.client = client or shared_client(address)
        if not self.client.has_collection(self.collection):
            self._create()
        self.client.load_collection(self.collection)

    def _create(self) -> None:
        from pymilvus import DataType, MilvusClient

        s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False, description="zhqa index files")
        s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=1024)
        s.add_field("generation", DataType.VARCHAR, max_length=128)
        s.add_field("path", DataType.VARCHAR, max_length=512)
        s.add_field("part", DataType.INT64)
        s.add_field("data", DataType.VARCHAR, max_length=65535)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=_DIM)
        params = self.client.prepare_index_params()
        params.add_index(field_name="vector", index_type="FLAT", metric_type="L2", params={})
        self.client.create_collection(self.collection, schema=s, index_params=params, consistency_level="Strong")

    # -- reading ----------------------------------------------------------------------------
    @_milvus_boundary(*_READING)
    def current(self, strong: bool = False) -> Published | None:
        """The published generation, or None before the first publish. A poll reads at
        Session consistency (a pointer switched by another process shows within a fraction
        of a second); ``strong`` reads the latest (before a write, and to retry a fetch)."""
        rows = self.client.query(self.collection, filter=f'key == "{POINTER}"', output_fields=["data"],
                                 **({} if strong else read_consistency(self.address)))
        if not rows:
            return None
        raw = json.loads(rows[0]["data"])
        return Published(raw["generation"], {path: (int(size), sha) for path, (size, sha) in raw["files"].items()})

    @_milvus_boundary(*_READING)
    def fetch(self, published: Published, into: Path) -> None:
        """Write the files of ``published`` under the folder ``into``, each checked against
        its size and SHA-256. StoreError if a part is missing (the generation was replaced
        meanwhile: ask ``current()`` again)."""
        into.mkdir(parents=True, exist_ok=True)
        for path, (size, sha) in sorted(published.files.items()):
            parts = max(1, -(-size // PART_BYTES))
            chunks: dict[int, bytes] = {}
            for lo in range(0, parts, _ROWS_PER_WRITE):
                keys = [_key(published.generation, path, i) for i in range(lo, min(parts, lo + _ROWS_PER_WRITE))]
                for row in self.client.get(self.collection, ids=keys, output_fields=["part", "data"]):
                    chunks[int(row["part"])] = base64.b64decode(row["data"])
            blob = b"".join(chunks.get(i, b"") for i in range(parts))
            if len(chunks) != parts or len(blob) != size or hashlib.sha256(blob).hexdigest() != sha:
                raise StoreError(f"The index generation {published.generation} in {self.address.text} is incomplete "
                                 f"({path}); it is being replaced, ask again.")
            target = into / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)

    # -- writing ----------------------------------------------------------------------------
    @_milvus_boundary(*_READING)
    def passages(self) -> int:
        """Rows in the passages collection this one serves (0 when it does not exist)."""
        if not self.client.has_collection(self.passages_collection):
            return 0
        rows = self.client.query(self.passages_collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    @_milvus_boundary(*_WRITING)
    def publish(self, folder: Path, generation: str, replacing: Published | None = None) -> Published:
        """Make the generation in ``folder`` the published one, in place of ``replacing``
        (the one published when this write began; see the module's docstring)."""
        files: dict[str, tuple[int, str]] = {}
        rows: list[dict] = []
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            path = file.relative_to(folder).as_posix()
            blob = file.read_bytes()
            files[path] = (len(blob), hashlib.sha256(blob).hexdigest())
            for i in range(max(1, -(-len(blob) // PART_BYTES))):
                rows.append(_row(_key(generation, path, i), generation, path, i,
                                 base64.b64encode(blob[i * PART_BYTES : (i + 1) * PART_BYTES]).decode("ascii")))
                if len(rows) >= _ROWS_PER_WRITE:
                    self.client.upsert(self.collection, rows)
                    rows = []
        if rows:
            self.client.upsert(self.collection, rows)
        self.client.flush(self.collection)
        pointer = json.dumps({"generation": generation, "files": {p: list(v) for p, v in files.items()}}, ensure_ascii=False)
        if len(pointer.encode()) > 65535:
            raise StoreError(f"The index generation {generation} has too many files to publish in {self.address.text}.")
        self.client.upsert(self.collection, [_row(POINTER, generation, "", 0, pointer)])
        # Delete the generation this one replaces, and parts left by publishes that died long
        # ago; never the parts of a publish that may be writing at this moment elsewhere.
        gone = {replacing.generation} if replacing is not None and replacing.generation != generation else set()
        gone |= self._stale_generations(keep=generation)
        for old in sorted(gone):
            self.client.delete(self.collection, filter=f'generation == "{old}" and key != "{POINTER}"')
        self.client.flush(self.collection)
        return Published(generation, files)

    def _stale_generations(self, keep: str) -> set[str]:
        """Generations with parts in the collection, other than ``keep``, named (gen-<ns>)
        more than an hour ago: a publish stopped before its pointer switch."""
        rows = self.client.query(self.collection, filter=f'key != "{POINTER}" and part == 0',
                                 output_fields=["generation"], limit=16384)
        cutoff = time.time_ns() - STALE_AFTER_S * 1_000_000_000
        stale = set()
        for generation in {r["generation"] for r in rows} - {keep}:
            born = generation.removeprefix("gen-")
            if born.isdigit() and int(born) < cutoff:
                stale.add(generation)
        return stale

    @_milvus_boundary(*_WRITING)
    def drop(self) -> None:
        self.client.drop_collection(self.collection)


def _key(generation: str, path: str, part: int) -> str:
    return f"{generation}/{path}#{part}"


def _row(key: str, generation: str, path: str, part: int, data: str) -> dict:
    return {"key": key, "generation": generation, "path": path, "part": part, "data": data, "vector": [0.0] * _DIM}
