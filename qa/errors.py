"""Named errors. Each message is one sentence that says what to do next; the CLI prints it
on one line and the web chat shows it as it is."""


class ZhqaError(Exception):
    """Base of every error a user can cause and fix."""


class BadQuestion(ZhqaError):
    """The question cannot be asked (empty, too long, nothing searchable)."""


class IndexNotFound(ZhqaError):
    """No index where one was expected."""


class IndexDamaged(ZhqaError):
    """An index file is missing, truncated or unreadable."""


class ModelMismatch(ZhqaError):
    """The index was built with another embedding model than the one asked for."""


class IndexLocked(ZhqaError):
    """Another process is writing this index."""


class CorpusError(ZhqaError):
    """A corpus path or file cannot be read as documents."""


class ModelLoadError(ZhqaError):
    """The embedding model cannot be loaded."""
