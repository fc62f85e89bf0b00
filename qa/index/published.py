"""An index kept in a remote store whole: the generation folder is published to Milvus
beside its passages (embeddings/milvus_files.py), so any number of chat servers serve it
with only the Milvus address. Each keeps a local copy of the published generation as a
cache and fetches a newer one when another process (an upload through another server, a
`qa index` elsewhere) publishes it."""
from __future__ import annotations

import time

from embeddings.passage_store import StoreError
from qa.index.folder import IndexFolder
from qa.index.store_target import (
    StoreTarget,
    StoreUnavailable,
    same_store,
    store_errors,
)


def publish(folder: IndexFolder, target: StoreTarget) -> bool:
    """Publish the folder's current generation unless it already is; True if written. Only
    to a Milvus server: a Milvus Lite file serves one process, which has the folder."""
    current = folder.current_dir()
    if current is None or target.address.kind != "milvus":
        return False
    with store_errors():
        files = target.files()
        published = files.current(strong=True)
        if published is not None and published.generation == current.name:
            return False
        files.publish(current, current.name, replacing=published)
    return True


def pull(folder: IndexFolder, target: StoreTarget, force: bool = False) -> bool:
    """Make the folder's current generation the published one; True if one was fetched.
    Call under the folder's writer lock. Nothing published yet leaves the folder as it is.
    ``force`` (before a write) reads the pointer at Strong consistency."""
    if target.address.kind != "milvus":
        return False
    with store_errors():
        files = target.files()
        for attempt in range(3):
            published = files.current(strong=force or attempt > 0)
            current = folder.current_dir()
            if published is None or (current is not None and published.generation == current.name and current.is_dir()):
                return False
            if attempt == 0 and current is not None and current.is_dir():
                recorded = folder.read_manifest().store
                if not same_store(recorded, target.address):
                    raise StoreUnavailable(f"The index in {folder.root} is kept in {recorded}, not {target.text}; "
                                           f"serve {target.text} with --index-dir of an empty folder.")
            try:
                folder.adopt(published.generation, lambda into, p=published: files.fetch(p, into))
                return True
            except StoreError:
                if attempt == 2:
                    raise
                time.sleep(0.5)  # replaced while it was being fetched: fetch the newer one
    return False


def unpublished_passages(target: StoreTarget) -> int:
    """Passages the store's collection holds with no index published beside them (a
    collection built before indexes were published, or by a first build stopped before its
    publish): a new folder must not index the seeds over them."""
    if target.address.kind != "milvus":
        return 0
    with store_errors():
        files = target.files()
        return 0 if files.current(strong=True) is not None else files.passages()
