"""What an index says about itself: the model and settings that built it, what it holds,
where its passages are searched, and the versions of what built it. Read and written here
only (``manifest.json`` in each generation folder); an index whose manifest this zhqa
cannot read is refused with the command that rebuilds it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from embeddings.passage_store import LOCAL
from qa.errors import IndexDamaged
from qa.settings import Chunking

FORMAT_VERSION = 2  # what a generation folder holds and how; a change means `qa index` again


@dataclass(frozen=True)
class Manifest:
    format: int
    model: str
    dimension: int
    chunking: Chunking
    documents: int
    passages: int
    corpus_fingerprint: str
    built_at: str
    versions: dict[str, str] = field(default_factory=dict)
    store: str = LOCAL  # where the passages are searched ("local", "milvus://…")
    index_bytes: int = 0  # size of the generation folder, set when it is committed

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: object, where: str) -> "Manifest":
        """The manifest in ``raw`` (parsed JSON); ``where`` names the folder in messages."""
        if not isinstance(raw, dict):
            raise IndexDamaged(f"The index manifest in {where} is damaged; rebuild with `qa index`.")
        if raw.get("format") != FORMAT_VERSION:
            raise IndexDamaged(f"The index in {where} has format {raw.get('format')}, this zhqa reads "
                               f"{FORMAT_VERSION}; rebuild with `qa index`.")
        known = {f.name for f in fields(cls)}
        try:
            values = {k: v for k, v in raw.items() if k in known}
            values["chunking"] = Chunking(**raw["chunking"])
            manifest = cls(**values)
        except (KeyError, TypeError) as exc:
            raise IndexDamaged(f"The index manifest in {where} is incomplete ({exc}); rebuild with `qa index`.") from exc
        if not isinstance(manifest.model, str) or not isinstance(manifest.dimension, int) or manifest.dimension <= 0:
            raise IndexDamaged(f"The index manifest in {where} is damaged (model or dimension); rebuild with `qa index`.")
        return manifest
