"""Serving zhqa: the web chat with the API and MCP beside it (qa/web, qa/api), its command-line
options and its launch, shared by ``qa serve`` and ``python app.py`` (one parser, so both take the same options).

    qa serve                            # http://127.0.0.1:7860, index in the default folder
    qa serve --port 8080 --index-dir /data/zhqa-index --auth alice:secret
    qa serve --read-only                # a public deployment: questions only
    qa serve --port 8081 --store milvus://milvus.internal:19530/news   # one of N chat servers on one Milvus
"""
from __future__ import annotations

import argparse
import os
import sys

from qa.errors import ZhqaError

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860


def _say(message: str) -> None:  # progress and problems of starting, on stderr
    print(message, file=sys.stderr, flush=True)


def launch(app, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, auth: tuple[str, str] | None = None,
           api=None, **kwargs):
    """Serve ``app`` (``qa.web.app.build_app``) with the chat's theme and CSS; failed logins
    are slowed down per client (``qa.web.login``). ``api`` (a ``qa.api.server.Api``) serves
    /v1 and /mcp in the same server. Extra keyword arguments go to
    ``Blocks.launch`` (e.g. ``prevent_thread_lock=True`` in tests, ``ssl_certfile``/``ssl_keyfile`` for TLS)."""
    import gradio as gr
    from starlette.middleware import Middleware

    from qa.web.assets import CSS
    from qa.web.login import LoginGuard
    from qa.web.uploads import MAX_FILE_MB

    theme = gr.themes.Soft(primary_hue="indigo", font=["system-ui", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
                                                        "Noto Sans CJK SC", "WenQuanYi Micro Hei", "sans-serif"],
                           font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"])
    middleware = [Middleware(LoginGuard)]
    app_kwargs = api.app_kwargs(middleware) if api is not None else {"middleware": middleware}
    return app.launch(server_name=host, server_port=port, auth=auth,
                      auth_message="请登录 Please log in" if auth else None, app_kwargs=app_kwargs,
                      max_file_size=f"{MAX_FILE_MB}mb", theme=theme, css=CSS, show_error=True, **kwargs)


# -- command line -------------------------------------------------------------------------
def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def _auth(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("give --auth as user:password")
    return user, password


def parse_args(argv: list[str] | None = None, prog: str = "qa serve") -> argparse.Namespace:
    env_port = os.environ.get("GRADIO_SERVER_PORT")
    parser = argparse.ArgumentParser(prog=prog, description="zhqa web chat: questions over Chinese news, answered with cited extracts.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST,
                        help=f"Address to listen on (default {DEFAULT_HOST}, or $GRADIO_SERVER_NAME; 0.0.0.0 for every interface).")
    parser.add_argument("--port", type=_port, default=None,
                        help=f"Port (default $GRADIO_SERVER_PORT, else {DEFAULT_PORT}).")
    parser.add_argument("--index-dir", default=None,
                        help="Index folder (default: $ZHQA_INDEX_DIR, else .zhqa-index/ in a checkout or the current folder); "
                             "built from the bundled seed articles if missing.")
    parser.add_argument("--store", default=None, metavar="ADDRESS",
                        help="Where passages are searched: milvus://HOST:PORT[/COLLECTION] (a Milvus server: the index is "
                             "fetched from it, no index folder to share), milvus-lite://PATH.db or local (default: what the index records).")
    parser.add_argument("--auth", type=_auth, default=None, metavar="USER:PASSWORD", help="Require this login.")
    parser.add_argument("--read-only", action="store_true",
                        help="For public deployments: no uploads, no evaluation runs, no feedback (unless --feedback).")
    parser.add_argument("--feedback", action="store_true", help="Keep 👍/👎 ratings in feedback.jsonl even with --read-only.")
    parser.add_argument("--ssl-certfile", default=None, help="Serve HTTPS with this certificate (PEM; with --ssl-keyfile).")
    parser.add_argument("--ssl-keyfile", default=None, help="The private key (PEM) of --ssl-certfile.")
    parser.add_argument("--api-key", action="append", default=[], metavar="KEY",
                        help="Require Authorization: Bearer KEY on /v1 and /mcp (repeatable; also $ZHQA_API_KEYS, comma-separated).")
    parser.add_argument("--rebuild", action="store_true", help="Index the bundled seed articles anew before starting (replaces the index).")
    args = parser.parse_args(argv)
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        parser.error("give --ssl-certfile and --ssl-keyfile together")
    if args.port is None:
        try:
            args.port = _port(env_port) if env_port else DEFAULT_PORT
        except argparse.ArgumentTypeError as exc:
            parser.error(f"GRADIO_SERVER_PORT: {exc}")
    return args


def main(argv: list[str] | None = None, prog: str = "qa serve") -> int:
    """Open (or build) the index, then serve the chat until stopped; 1 on a problem the user can fix."""
    args = parse_args(argv, prog)
    from qa.options import build_settings

    try:
        settings = build_settings(args.index_dir, args.store)
    except ZhqaError as exc:
        _say(f"error: {exc}")
        return 1
    from qa.engine import QA
    from qa.web.app import build_app

    qa = QA(settings)
    try:
        if args.rebuild:
            _say(f"正在重建索引 Rebuilding the index of the seed articles in {settings.index_dir} …")
            qa.index(progress=sys.stderr.isatty())
        elif (report := qa.ensure_index(progress=True, announce=_say)) is not None:
            _say(f"已索引 Indexed {report.documents} documents, {report.passages} passages in {report.seconds:.1f}s.")
        data = qa.data()
        _ = qa.encoder  # load the model once, now, not on the first question
        _say(f"索引 Index: {len(data.documents)} documents, {len(data.passages)} passages ({settings.index_dir}).")
    except ZhqaError as exc:
        _say(f"error: {exc}")
        if "rebuild" in str(exc):
            _say(f"({'python ' if prog.endswith('.py') else ''}{prog} --rebuild indexes the bundled seed articles anew.)")
        return 1
    app = build_app(qa, read_only=args.read_only, feedback=True if args.feedback else None)
    scheme = "https" if args.ssl_certfile else "http"
    _say(f"打开 Open {scheme}://{args.host}:{args.port}/" + ("  (login required)" if args.auth else "")
         + ("  (read-only)" if args.read_only else ""))
    from qa.api.server import serve_api

    api = serve_api(qa, args.host, args.api_key, f"{scheme}://{args.host}:{args.port}", _say)
    try:
        launch(app, args.host, args.port, args.auth, api=api, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)
    except OSError as exc:
        _say(f"error: cannot listen on {args.host}:{args.port} ({exc}); choose another --port.")
        return 1
    return 0
