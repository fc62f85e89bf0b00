"""A self-contained HTML report of an evaluation: the metrics table, recall@k curves per
mode (inline SVG, no scripts, no network), the comparison and the failures. Every string
from questions, answers or the corpus is escaped."""
from __future__ import annotations

from html import escape

from .evaluate import METRICS, EvalReport, worst

_COLOURS = {"hybrid": "#c0392b", "dense": "#2471a3", "bm25": "#229954"}


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _table(report: EvalReport) -> str:
    head = "".join(f"<th>{escape(m)}</th>" for m in METRICS)
    rows = "".join(
        f"<tr><th>{escape(mode)}</th>" + "".join(f"<td>{_fmt(block['metrics'].get(m))}</td>" for m in METRICS) + "</tr>"
        for mode, block in report.modes.items()
    )
    return f"<table><tr><th>mode</th>{head}</tr>{rows}</table>"


def _by_type(report: EvalReport) -> str:
    parts = []
    for mode, block in report.modes.items():
        if not block["by_type"]:
            continue
        rows = "".join(
            f"<tr><th>{escape(t)}</th><td>{v['count']}</td>" + "".join(f"<td>{_fmt(v.get(m))}</td>" for m in METRICS) + "</tr>"
            for t, v in block["by_type"].items()
        )
        head = "".join(f"<th>{escape(m)}</th>" for m in METRICS)
        parts.append(f"<h3>{escape(mode)}</h3><table><tr><th>type</th><th>n</th>{head}</tr>{rows}</table>")
    return "".join(parts)


def recall_svg(report: EvalReport, width: int = 560, height: int = 300) -> str:
    """Recall@k for k = 1..K, one line per mode."""
    pad, k = 40, report.k
    lo = min([min(b["curve"]) for b in report.modes.values() if b["curve"]] or [0.0])
    lo = max(0.0, min(lo, 1.0) - 0.05)

    def x(i: int) -> float:
        return pad + (i - 1) * (width - 2 * pad) / max(1, k - 1)

    def y(v: float) -> float:
        return height - pad - (v - lo) / (1.0 - lo or 1) * (height - 2 * pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="recall at k">',
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
        parts.append(f'<text x="{width - pad - 60}" y="{height - pad - 12 - 14 * n}" font-size="12" fill="{colour}">{escape(mode)}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 6}" font-size="12" text-anchor="middle">k</text></svg>')
    return "".join(parts)


def _failures(report: EvalReport) -> str:
    parts = []
    for mode in report.modes:
        rows = []
        for r in worst(report, mode, 25):
            rank = "not in top k" if r.rank is None and r.expected_docs else (r.rank if r.rank else "answered, should abstain")
            rows.append(
                "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in (
                    r.id, r.type or "", r.question, ", ".join(r.expected_docs or ["(no answer)"]), r.expected_answer or "",
                    rank, r.top_doc or "", (r.top_snippet or r.top_passage or "")[:160],
                )) + "</tr>"
            )
        if rows:
            parts.append(f"<h3>{escape(mode)}</h3><table><tr><th>id</th><th>type</th><th>question</th><th>expected doc</th>"
                         f"<th>expected answer</th><th>rank</th><th>top doc</th><th>what came back</th></tr>{''.join(rows)}</table>")
    return "".join(parts) or "<p>No failures.</p>"


def render(report: EvalReport, title: str = "zhqa retrieval evaluation") -> str:
    comparison = f"<h2>Comparison (paired t-test, p &lt; 0.05)</h2><pre>{escape(report.comparison)}</pre>" if report.comparison else ""
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}
pre{{background:#f6f6f6;padding:1em}}</style></head><body>
<h1>{escape(title)}</h1>
<p>{report.questions} questions, top {report.k} passages, {report.seconds:.1f} s. Recall@k: a passage of a relevant
document containing the answer is within the top k. answer@1: the first snippet contains the answer.
abstain: share of unanswerable questions the system declined.</p>
<h2>Metrics</h2>{_table(report)}
<h2>Recall@k</h2>{recall_svg(report)}
{comparison}
<h2>By question type</h2>{_by_type(report)}
<h2>Failures</h2>{_failures(report)}
</body></html>
"""
