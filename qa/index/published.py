"""An index kept in a remote store whole: the generation folder is published to Milvus
beside its passages (embeddings/milvus_files.py), so any number of chat servers serve it
with only the Milvus address. Each keeps a local copy of the published generation as a
cache and fetches a newer one when another process (an upload through another server, a
`qa index` elsewhere) publishes it."""
from __future__ import annotations

from embeddings.passage_store import StoreError
from qa.index.folder import IndexFolder
from qa.index.store_target import (
    StoreTarget,
    StoreUnavailable,
    same_store,
    store_errors,
)


def publish(folder: IndexFolder, target: StoreTarget) -> bool:
    """Publish the folder's current generation unless it already is; True if written."""
    current = folder.current_dir()
    if current is None or not target.remote:
        return False
    with store_errors():
        files = target.files()
        published = files.current()
        if published is not None and published.generation == current.name:
            return False
        files.publish(current, current.name)
    return True


def pull(folder: IndexFolder, target: StoreTarget) -> bool:
    """Make the folder's current generation the published one; True if one was fetched.
    Nothing published yet leaves the folder as it is."""
    if not target.remote:
        return False
    with store_errors():
        files = target.files()
        for attempt in range(3):
            published = files.current()
            if published is None or published.generation == folder.generation():
                return False
            if attempt == 0 and folder.exists():
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
                # replaced while it was being fetched: fetch the newer one
    return False
