"""Settings from what a person typed: one builder for ``qa`` and the web chat (``qa serve``,
``python app.py``), so an option means the same thing in both."""
from __future__ import annotations

import os
from pathlib import Path

from qa.errors import ZhqaError
from qa.settings import Settings


def build_settings(index_dir: str | Path | None = None, store: str | None = None, model: str | None = None,
                   **extra) -> Settings:
    """``Settings`` from command-line options (None: the default). With a Milvus server
    store and no index folder, the copy of the published index is kept in a folder of its
    own (qa.index.store_target.serving_folder). A bad store address is a ZhqaError, raised
    before anything loads; a bad number (``max_chars``) a ValueError."""
    kwargs = {k: v for k, v in extra.items() if v is not None}
    if store:
        from embeddings.passage_store import StoreError, parse_store_address

        from qa.index.store_target import serving_folder
        from qa.settings import default_index_dir

        try:
            parse_store_address(store)
            if not index_dir and not os.environ.get("ZHQA_INDEX_DIR"):
                store, index_dir = serving_folder(store, default_index_dir())
        except StoreError as exc:
            raise ZhqaError(str(exc)) from exc
        kwargs["store"] = store
    if index_dir:
        kwargs["index_dir"] = Path(index_dir)
    if model:
        kwargs["model"] = model
    return Settings(**kwargs)
