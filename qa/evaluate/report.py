"""An evaluation, shown: a self-contained HTML report (the metrics table, recall@k curves per
mode as inline SVG, no scripts, no network, the comparison and the failures; every string
from questions, answers or the corpus is escaped), and the plain text ``qa eval`` prints.

The HTML pieces (``metrics_table``, ``recall_svg``, ``by_type_tables``, ``failures_html``) are
public: ``render`` puts them on one page and the web chat's Evaluate tab shows them. The text
pieces (``summary_text``, ``folds_text``, ``failures_text``, ``reading_text``) are what the CLI
prints, in that order."""
from __future__ import annotations

from collections.abc import Callable
from html import escape

from qa.evaluate.reading import ReadingResult
from qa.evaluate.run import METRICS, EvalReport, QuestionResult, worst

_COLOURS = {"hybrid": "#c0392b", "dense": "#2471a3", "bm25": "#229954"}
FAILURES = 25  # worst questions listed per mode


def _esc(text) -> str:
    """Escaped for HTML text and double-quoted attributes; ``$ { }`` as entities too, so
    that no template engine (the web chat's gr.HTML) reads them."""
    return escape(str(text), quote=True).replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def metrics_table(report: EvalReport) -> str:
    """One row per metric (METRICS, by name), one column per mode."""
    head = "".join(f"<th>{_esc(mode)}</th>" for mode in report.modes)
    rows = "".join(
        f'<tr><th>{_esc(m)}</th>' + "".join(f'<td class="zq-num">{_fmt(block["metrics"].get(m))}</td>'
                                             for block in report.modes.values()) + "</tr>"
        for m in METRICS
    )
    return f'<table class="zq-eval zq-eval-metrics"><tr><th>metric</th>{head}</tr>{rows}</table>'


def risk_coverage_table(report: EvalReport) -> str:
    """Per mode, the F1 of the spans shown at each coverage of the answerable questions (the
    surest first), and the area under that curve."""
    blocks = [(mode, b["metrics"].get("risk_coverage") or {}, b["metrics"].get("risk_coverage_area"))
              for mode, b in report.modes.items()]
    blocks = [b for b in blocks if b[1]]
    if not blocks:
        return "<p>No answer spans.</p>"
    head = "".join(f"<th>{_esc(c)}</th>" for c in blocks[0][1]) + "<th>area</th>"
    rows = "".join(f"<tr><th>{_esc(mode)}</th>" + "".join(f'<td class="zq-num">{_fmt(v)}</td>' for v in table.values())
                   + f'<td class="zq-num">{_fmt(area)}</td></tr>' for mode, table, area in blocks)
    return f'<table class="zq-eval zq-eval-risk"><tr><th>coverage</th>{head}</tr>{rows}</table>'


def by_type_tables(report: EvalReport) -> str:
    """Per mode, the metrics of each question type."""
    parts = []
    head = "".join(f"<th>{_esc(m)}</th>" for m in METRICS)
    for mode, block in report.modes.items():
        if not block["by_type"]:
            continue
        rows = "".join(
            f"<tr><th>{_esc(t)}</th><td class=\"zq-num\">{_esc(v['count'])}</td>"
            + "".join(f'<td class="zq-num">{_fmt(v.get(m))}</td>' for m in METRICS) + "</tr>"
            for t, v in block["by_type"].items()
        )
        parts.append(f'<h3>{_esc(mode)}</h3><table class="zq-eval zq-eval-types"><tr><th>type</th><th>n</th>{head}</tr>{rows}</table>')
    return "".join(parts) or "<p>No question types.</p>"


def recall_svg(report: EvalReport, width: int = 560, height: int = 300) -> str:
    """Recall@k for k = 1..K, one line per mode."""
    pad, k = 40, report.k
    lo = min([min(b["curve"]) for b in report.modes.values() if b["curve"]] or [0.0])
    lo = max(0.0, min(lo, 1.0) - 0.05)

    def x(i: int) -> float:
        return pad + (i - 1) * (width - 2 * pad) / max(1, k - 1)

    def y(v: float) -> float:
        return height - pad - (v - lo) / (1.0 - lo or 1) * (height - 2 * pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="recall at k">',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#888"/>']
    for i in range(1, k + 1):
        parts.append(f'<text x="{x(i):.1f}" y="{height - pad + 16}" font-size="11" text-anchor="middle">{i}</text>')
    for v in (lo, (lo + 1) / 2, 1.0):
        parts.append(f'<text x="{pad - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{v:.2f}</text>')
    for n, (mode, block) in enumerate(report.modes.items()):
        curve = block["curve"]
        if not curve:
            continue
        colour = _COLOURS.get(mode, "#555")
        points = " ".join(f"{x(i + 1):.1f},{y(v):.1f}" for i, v in enumerate(curve))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{width - pad - 60}" y="{height - pad - 12 - 14 * n}" font-size="12" fill="{colour}">{_esc(mode)}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 6}" font-size="12" text-anchor="middle">k</text></svg>')
    return "".join(parts)


def outcome(r: QuestionResult) -> str:
    """How a question failed, in the words of ``qa eval``: rank N, not retrieved, or
    answered, should abstain."""
    if r.expected_docs:
        return "not retrieved" if r.rank is None else f"rank {r.rank}"
    return "answered, should abstain" if r.answered else "abstained"


def failures_html(report: EvalReport, n: int = FAILURES, link: Callable[[str], str] | None = None) -> str:
    """Per mode, the ``n`` worst questions (``evaluate.worst``): id, type, question, the
    expected answer and document, the outcome, what came back. With ``link``, each
    question is a link ``<a class="zq-cite zq-ask" href="link(question)">``."""
    parts = []
    for mode in report.modes:
        rows = []
        for r in worst(report, mode, n):
            question = _esc(r.question)
            if link is not None:
                question = f'<a class="zq-cite zq-ask" href="{_esc(link(r.question))}" title="在对话中提问 Ask in the chat">{question}</a>'
            expected = f"{_esc(r.expected_answer or '(no answer)')}"
            if r.expected_docs:
                expected += f'<div class="zq-docid">{_esc(", ".join(r.expected_docs))}</div>'
            got = f"error: {r.error}" if r.error else (r.top_snippet or r.top_passage or "")[:160]
            came = (f'<div class="zq-docid">{_esc(r.top_doc)}</div>' if r.top_doc else "") + _esc(got)
            rows.append(f'<tr class="zq-failure"><td class="zq-nowrap">{_esc(r.id)}</td><td>{_esc(r.type or "")}</td>'
                        f"<td>{question}</td><td>{expected}</td><td>{_esc(outcome(r))}</td><td>{came}</td></tr>")
        if rows:
            parts.append(f'<h3>{_esc(mode)}</h3><table class="zq-eval zq-eval-failures"><tr><th>id</th><th>type</th><th>question</th>'
                         f"<th>expected answer / doc</th><th>outcome</th><th>what came back</th></tr>{''.join(rows)}</table>")
    return "".join(parts) or "<p>No failures.</p>"


def render(report: EvalReport, title: str = "zhqa retrieval evaluation") -> str:
    comparison = f"<h2>Comparison (paired t-test, p &lt; 0.05)</h2><pre>{_esc(report.comparison)}</pre>" if report.comparison else ""
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}
.zq-num{{text-align:right}}.zq-docid{{color:#666;font-size:.85em;font-family:monospace}}
pre{{background:#f6f6f6;padding:1em}}</style></head><body>
<h1>{_esc(title)}</h1>
<p>{report.questions} questions, top {report.k} passages, {report.seconds:.1f} s. Recall@k: a passage of a relevant
document containing the answer is within the top k. answer@1: the first snippet contains the answer.
abstain: share of unanswerable questions the system declined. false_no_answer: share of answerable
questions answered "no answer". span_coverage: share of answerable questions whose answer span is claimed
(bold); shown_em / shown_f1: over those spans only.</p>
<h2>Metrics</h2>{metrics_table(report)}
<h2>Risk and coverage</h2><p>F1 of the spans shown when only the surest share of the answerable questions
get theirs.</p>{risk_coverage_table(report)}
<h2>Recall@k</h2>{recall_svg(report)}
{comparison}
<h2>By question type</h2>{by_type_tables(report)}
<h2>Failures</h2>{failures_html(report)}
</body></html>
"""


# ---------------------------------------------------------------- plain text, as `qa eval` prints it


def summary_text(report: EvalReport) -> str:
    """The questions and time, one row per metric (METRICS) with a column per mode, the
    risk-coverage table of the shown spans, the paired comparison, and per mode the results by question type."""
    width = max(len(m) for m in METRICS)
    lines = [f"{report.questions} questions, k={report.k}, {report.seconds:.1f}s (encoding the questions {report.encode_seconds:.1f}s)",
             "metric".ljust(width) + "".join(m.rjust(10) for m in report.modes)]
    for metric in METRICS:
        values = [block["metrics"].get(metric) for block in report.modes.values()]
        lines.append(metric.ljust(width) + "".join(("–" if v is None else f"{v:.3f}").rjust(10) for v in values))
    for mode, block in report.modes.items():
        table = block["metrics"].get("risk_coverage")
        if table:
            lines.append(f"\nrisk-coverage ({mode}; F1 of the spans shown at each coverage of the answerable questions, "
                         "the surest first):")
            lines.append("  " + "  ".join(f"{c}={v:.3f}" for c, v in table.items())
                         + f"  area={block['metrics']['risk_coverage_area']:.3f}")
    if report.comparison:
        lines.append("\n" + report.comparison)
    for mode, block in report.modes.items():
        if block["by_type"]:
            lines.append(f"\nby type ({mode}):")
            for t, v in block["by_type"].items():
                cells = "  ".join(f"{name}={'–' if v.get(name) is None else format(v.get(name), '.2f')}"
                                  for name in ("recall@1", "recall@5", "answer@1", "abstain"))
                lines.append(f"  {t:<14} n={v['count']:<4} {cells}")
    return "\n".join(lines)


def folds_text(folds: dict[str, dict]) -> str:
    """Per mode, Recall@1, MRR@10 and answer@1 of each fold (``evaluate.by_fold``), then
    their mean and spread."""
    lines = []
    for mode, block in folds.items():
        lines.append(f"\nby fold ({mode}; folds by article, qa/folds.py):")
        for f, row in block["folds"].items():
            answer = "–" if row["answer@1"] is None else f"{row['answer@1']:.3f}"
            lines.append(f"  fold {f}  n={row['questions']:<5} recall@1={row['recall@1']:.3f}  mrr@10={row['mrr@10']:.3f}  answer@1={answer}")
        lines.append("  mean    " + "  ".join(f"{name}={v['mean']:.3f}±{v['sd']:.3f}" for name, v in block["mean"].items()))
    return "\n".join(lines)


def failures_text(failures: list[QuestionResult], mode: str) -> str:
    """The worst questions of one mode (``evaluate.worst``): what was expected, how it
    failed (``outcome``) and what came back first; empty when none failed."""
    if not failures:
        return ""
    lines = [f"\nworst questions ({mode}):"]
    for r in failures:
        lines.append(f"  {r.id}: {r.question}\n     expected {r.expected_answer or '(no answer)'} in {', '.join(r.expected_docs or ['-'])}; "
                     f"{outcome(r)}; got {r.top_doc}: {(r.top_snippet or r.top_passage or '').replace(chr(10), ' ')[:80]}")
    return "\n".join(lines)


def reading_text(read: ReadingResult, split: str) -> str:
    """The reading-only evaluation (``qa eval --reading``) in one line."""
    return (f"reading only ({split}): {read.questions} questions, exact_match {read.exact_match:.3f}, f1 {read.f1:.3f}, "
            f"answers {read.answer_chars:.1f} characters (gold {read.gold_chars:.1f})")
