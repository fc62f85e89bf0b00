"""``qa bench``'s printed table, and the targets each figure is held to."""
from __future__ import annotations


def _pm(d: dict) -> str:
    return f"{d['p50']:.2f} / {d['p95']:.2f}"


def _processor(cpu: dict | None) -> str:
    from qa.cpu import one_line

    return "processor: " + (one_line(cpu) if cpu else "not recorded")


def _cold(cold: dict | None) -> list[str]:
    if not cold:
        return []
    return [f"Cold qa ask {cold['ask_s']:.2f} s, its floor (opening the encoder and reader sessions alone) "
            f"{cold['floor_s']:.2f} s: ratio {cold['ratio']:.2f} (target <= {cold['target_ratio']}; medians of "
            f"{len(cold['ask_runs_s'])}, interleaved)"]


def table(r: dict) -> str:
    ask, idx, st, peers = r["ask"], r["index"], r["startup"], r["peers"]
    lines = [
        f"zhqa bench ({'quick' if r['quick'] else 'full'}), {r['machine']['cores']} cores, encoder backend {ask['backend']}",
        _processor(r["machine"].get("cpu")),
        "",
        f"Ask, {ask['questions']} seed questions x {ask['repeats']}         p50 / p95 ms",
    ]
    for name, d in ask["stages_ms"].items():
        lines.append(f"  {name:<34}{_pm(d)}")
    lines += [
        f"  {'total':<34}{_pm(ask['total_ms'])}",
        f"  {'encode alone (ours)':<34}{_pm(ask['encode_ms'])}",
        f"  {'encode alone (plain ST, torch)':<34}{_pm(ask['plain_st_encode_ms'])}",
        f"  total / encode: p50 {ask['total_over_encode_p50']:.2f} (target <= 1.3), p95 {ask['total_over_encode_p95']:.2f} (<= 2)",
        f"  read / encode: p50 {ask['read_over_encode_p50']:.2f} (target <= 4)",
        f"  encode speed-up over plain ST: {ask['encode_speedup_vs_plain_st_p50']:.2f}x (target >= 2), "
        f"cosine min {ask['encode_cosine_min_vs_plain_st']:.4f} (>= 0.99)",
        "",
        f"Indexing {idx['corpus']} ({idx['documents']} documents, {idx['passages']} passages)",
        f"  pipeline {idx['pipeline_passages_per_s']:.1f} passages/s, raw encode {idx['raw_encode_passages_per_s']:.1f}/s: "
        f"ratio {idx['pipeline_over_raw']:.2f} (target >= 0.85)",
        f"  plain ST on torch, first {idx['plain_st_sample']} passages: {idx['plain_st_encode_passages_per_s']:.1f}/s",
        f"  re-index unchanged: {idx['reindex_unchanged_s']:.2f} s (target <= 2)",
        "",
        f"Startup to first answer: web chat {st.get('web', {}).get('first_answer_s', float('nan')):.1f} s (target <= 15), "
        f"peak RSS {st.get('web', {}).get('peak_rss_mb', float('nan')):.0f} MB; "
        f"qa ask {st['cli']['first_answer_s']:.1f} s, {st['cli']['peak_rss_mb']:.0f} MB",
        *_cold(st.get("cold_ask")),
        "",
        "Scale                 passages  type    search p50 ms  recall@10  build s  memory MB",
    ]
    for row in r["scale"]:
        mark = "*" if row["chosen"] and row["kind"] == "vectors" else " "
        lines.append(f"  {row['kind']:<8}{row['passages']:>18,}  {row['index_type']:<6}{mark}{row['search_ms_p50']:>13.2f}"
                     f"{row['recall_at_10']:>11.3f}{row['build_s']:>9.1f}{row['memory_mb']:>11.0f}")
    lines += [
        "  (* the type the index chooses at that size)",
        "",
        f"Peers on {peers['passages']} passages, {peers['questions']} questions (p50 ms)",
        f"  BM25: ours {peers['bm25_ours_ms_p50']:.2f}, rank_bm25 {peers['bm25_rank_bm25_ms_p50']:.2f} "
        f"(top-10 overlap {peers['bm25_top10_overlap']:.2f})",
        f"  dense: ours {peers['dense_ours_ms_p50']:.2f}, plain ST encode + IndexFlatIP {peers['dense_plain_flat_ms_p50']:.2f}",
    ]
    from qa.bench.api import lines as api_lines

    lines += api_lines(r)
    server = r.get("milvus_server") or {}
    if "skipped" in server:
        lines += ["", f"Milvus server: skipped ({server['skipped']})"]
    elif server:
        lines += ["", f"Milvus server ({server['server']}), started in {server['start_s'] or 0:.0f} s, {server['server_rss_mb']:.0f} MB resident",
                  f"  ask total, server / local store: {_pm(server['ask_server']['total_ms'])} / {_pm(server['ask_local']['total_ms'])}"]
        for stage in ("dense", "bm25", "fusion"):
            lines.append(f"    {stage:<10}{_pm(server['ask_server']['stages_ms'][stage])} / {_pm(server['ask_local']['stages_ms'][stage])}")
        sync = server["sync"]
        lines += [f"  keywords: {server['keywords']}",
                  f"  sync of {sync['passages']:,} passages: {sync['seconds']:.0f} s ({sync['passages_per_s']:,.0f} passages/s); "
                  f"again unchanged: {sync['unchanged_again_s']:.1f} s; published index fetched in {server['fetch_published_index_s']:.1f} s"]
    return "\n".join(lines)
