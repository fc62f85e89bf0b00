"""zhqa web chat, from a checkout: the same as ``qa serve`` (qa/serve.py has the options,
qa/web/app.py the page).

    python app.py                       # http://127.0.0.1:7860, index in .zhqa-index/
    python app.py --port 8080 --index-dir /data/zhqa-index --auth alice:secret
"""
import sys

from qa.web.app import build_app  # noqa: F401 - the chat as a library function, importable as before
from qa.serve import launch, main, parse_args  # noqa: F401

if __name__ == "__main__":
    sys.exit(main(prog="app.py"))
