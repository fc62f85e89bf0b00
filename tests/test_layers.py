"""What runs when a question is asked never imports training or experiments: no module under
qa/ or embeddings/ imports qa_train (fitting and exporting) or eval (experiment scripts), at
the top of the file or inside a function, except the CLI's ``qa train-*`` commands, which load
qa_train only when they are run."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APART = ("qa_train", "eval")
# The one door on purpose: `qa train-reader|train-fusion|train-choice|train-confidence` import qa_train inside the command.
ALLOWED = {("qa/cli.py", "qa_train.train_reader"), ("qa/cli.py", "qa_train.train_fusion"),
           ("qa/cli.py", "qa_train.train_choice"), ("qa/cli.py", "qa_train.confidence")}


def imported_modules(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return out


def runtime_files() -> list[Path]:
    return sorted(p for top in ("qa", "embeddings") for p in (ROOT / top).rglob("*.py"))


def test_the_walk_sees_the_runtime():
    files = {p.relative_to(ROOT).as_posix() for p in runtime_files()}
    assert {"qa/engine.py", "qa/cli.py", "qa/answer/choice.py", "embeddings/encoder.py"} <= files
    assert "qa.engine" in imported_modules(ROOT / "qa_train" / "sets.py")  # the walk reads what it should


def test_no_runtime_module_imports_training_or_experiments():
    found = []
    for path in runtime_files():
        rel = path.relative_to(ROOT).as_posix()
        for name in imported_modules(path):
            if name.split(".")[0] in APART and (rel, name) not in ALLOWED:
                found.append(f"{rel} imports {name}")
    assert not found, "runtime modules import training or experiments:\n" + "\n".join(found)
