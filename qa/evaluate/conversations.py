"""Follow-up evaluation: conversations whose last question leans on the earlier ones.

A conversation file holds one JSON object a line, ``{"id", "turns": [{"question", "doc",
"answer"}, …]}`` (eval/followups-*.jsonl). For each conversation the last turn is asked
with the earlier questions as history, and scored as ``qa eval`` scores a question: does
the first snippet contain the gold answer (answer@1, same normalisation), and is the gold
article's passage ranked first (doc@1). Baselines ask the same last turn ignoring the
history ("alone") and glued after the previous question ("joined").

Run: ``python -m qa.evaluate.conversations eval/followups-heldout.jsonl [--index-dir DIR]``.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import CorpusError
from qa.evaluate.run import contains_answer
from qa.records import Answer

K = 10  # passages retrieved per question, as `qa eval` by default


@dataclass(frozen=True)
class Turn:
    question: str
    doc: str
    answer: str


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[Turn, ...]

    @property
    def history(self) -> list[str]:
        """The earlier questions, oldest first, as typed."""
        return [t.question for t in self.turns[:-1]]

    @property
    def last(self) -> Turn:
        return self.turns[-1]


@dataclass(frozen=True)
class TurnResult:
    id: str
    question: str
    asked: str  # what retrieval was asked
    answer_hit: bool  # first snippet contains the gold answer
    doc_hit: bool  # the top passage is from the gold article
    top_doc: str | None
    top_snippet: str | None


@dataclass
class ConversationReport:
    conversations: int
    results: dict[str, list[TurnResult]] = field(default_factory=dict)  # strategy → one result per conversation

    def rate(self, strategy: str, what: str = "answer_hit") -> float:
        rows = self.results[strategy]
        return sum(getattr(r, what) for r in rows) / len(rows) if rows else 0.0

    def count(self, strategy: str, what: str = "answer_hit") -> int:
        return sum(getattr(r, what) for r in self.results[strategy])

    def table(self) -> str:
        """One line per strategy: answer@1 and doc@1 as counts and rates."""
        n = self.conversations
        lines = [f"{n} conversations, last turn scored, k={K}", f"{'strategy':<10}{'answer@1':>16}{'doc@1':>16}"]
        for s in self.results:
            a, d = self.count(s, "answer_hit"), self.count(s, "doc_hit")
            lines.append(f"{s:<10}{f'{a}/{n} {a / n:.2f}':>16}{f'{d}/{n} {d / n:.2f}':>16}")
        return "\n".join(lines)


def load_conversations(path: Path) -> list[Conversation]:
    """Conversations in the format of eval/followups-*.jsonl."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"Cannot read the conversation file {path}; give a UTF-8 JSON Lines file.") from exc
    out = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            turns = tuple(Turn(t["question"], t["doc"], t["answer"]) for t in row["turns"])
            if len(turns) < 2:
                raise ValueError("a conversation needs at least two turns")
            out.append(Conversation(str(row["id"]), turns))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CorpusError(f"{path}:{lineno} is not a conversation (id, turns: question, doc, answer); "
                              "fix or remove that line.") from exc
    if not out:
        raise CorpusError(f"{path} holds no conversations.")
    return out


# How each strategy asks the last turn of a conversation.
STRATEGIES: dict[str, Callable[[object, Conversation, str], Answer]] = {
    "history": lambda engine, c, mode: engine.ask(c.last.question, k=K, mode=mode, history=c.history),
    "alone": lambda engine, c, mode: engine.ask(c.last.question, k=K, mode=mode),
    "joined": lambda engine, c, mode: engine.ask(f"{c.history[-1]} {c.last.question}", k=K, mode=mode),
}


def score(conversation: Conversation, answer: Answer) -> TurnResult:
    """answer@1 and doc@1 of the conversation's last turn."""
    gold = conversation.last
    top_doc = answer.hits[0].passage.doc_id if answer.hits else None
    top_snippet = answer.snippets[0].text if answer.snippets else None
    return TurnResult(conversation.id, gold.question, answer.asked or answer.question,
                      bool(answer.answered and top_snippet and contains_answer(top_snippet, gold.answer)),
                      top_doc == gold.doc, top_doc, top_snippet)


def evaluate_conversations(engine, conversations: list[Conversation], strategies=tuple(STRATEGIES),
                           mode: str = "hybrid") -> ConversationReport:
    """Ask every conversation's last turn in each strategy against ``engine``'s index."""
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"Unknown strategies {unknown}; choose from {sorted(STRATEGIES)}.")
    report = ConversationReport(len(conversations))
    for s in strategies:
        report.results[s] = [score(c, STRATEGIES[s](engine, c, mode)) for c in conversations]
    return report


def main(argv: list[str] | None = None) -> None:
    from qa.engine import QA
    from qa.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m qa.evaluate.conversations", description=__doc__.split("\n\n")[0])
    parser.add_argument("conversations", type=Path)
    parser.add_argument("--index-dir", type=Path, default=None, help="The index to ask (default: zhqa's, built from seeds/ if missing).")
    parser.add_argument("--failures", action="store_true", help="List the conversations the history strategy misses.")
    args = parser.parse_args(argv)
    engine = QA(Settings(index_dir=args.index_dir) if args.index_dir else Settings())
    engine.ensure_index(announce=print)
    report = evaluate_conversations(engine, load_conversations(args.conversations))
    print(report.table())
    if args.failures:
        for r in report.results["history"]:
            if not r.answer_hit:
                print(f"  {r.id}: {r.question} → asked {r.asked}\n     got {r.top_doc}: {(r.top_snippet or '').replace(chr(10), ' ')[:70]}")


if __name__ == "__main__":
    main()
