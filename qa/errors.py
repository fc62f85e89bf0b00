"""Named errors. Each message is one sentence that says what to do next; the CLI prints it
on one line and the web chat shows it as it is."""


class ZhqaError(Exception):
    """Base of every error a user can cause and fix. ``label`` names the kind of problem
    in a few words (Chinese, then English): the web chat puts it before the message."""

    label = "出错了 Error"


class BadQuestion(ZhqaError):
    """The question cannot be asked (empty, too long, nothing searchable)."""

    label = "无法提问 Cannot ask"


class IndexNotFound(ZhqaError):
    """No index where one was expected."""

    label = "没有索引 No index"


class IndexDamaged(ZhqaError):
    """An index file is missing, truncated or unreadable."""

    label = "索引已损坏 Index damaged"


class ModelMismatch(ZhqaError):
    """The index was built with another embedding model than the one asked for."""

    label = "模型不匹配 Model mismatch"


class IndexLocked(ZhqaError):
    """Another process is writing this index."""

    label = "索引正被占用 Index busy"


class CorpusError(ZhqaError):
    """A corpus path or file cannot be read as documents."""

    label = "文档无法读取 Cannot read documents"


class ModelLoadError(ZhqaError):
    """The embedding model cannot be loaded."""

    label = "模型无法加载 Model not loaded"
