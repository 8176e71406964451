"""The dist's index.html: relative references to moved files rewritten to their hashed paths,
everything else left as written, a reference to nothing refused, inline elements hashed."""

from __future__ import annotations

import base64
import hashlib

import pytest

from buildsteps import BuildError
from buildsteps.index_html import rewrite_index

MOVED = {
    "page/app.js": "app-0123456789ab/page/app.js",
    "progress-client.js": "app-0123456789ab/progress-client.js",
    "pyodide/pyodide.mjs": "pyodide-abcdefabcdef/pyodide.mjs",
}
ROOT = {"index.html", "progress-client.js"}


def sha(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def test_relative_references_to_moved_files_follow_them() -> None:
    html = (
        '<link rel="modulepreload" href="pyodide/pyodide.mjs">\n'
        "<script type=module src='./page/app.js?v=1#x' async></script>\n"
        "<link rel=modulepreload href=page/app.js>"
    )
    out, _ = rewrite_index(html, MOVED, ROOT)
    assert out == (
        '<link rel="modulepreload" href="pyodide-abcdefabcdef/pyodide.mjs">\n'
        "<script type=module src='app-0123456789ab/page/app.js?v=1#x' async></script>\n"
        "<link rel=modulepreload href=app-0123456789ab/page/app.js>"
    )


def test_other_references_are_left_as_written() -> None:
    html = (
        '<link rel="icon" href="data:,">\n<a href="#view">skip</a> <a href="#/">home</a>\n'
        '<a href="https://example.org/page/app.js">out</a> <a href="/page/app.js">abs</a>\n'
        '<a href="index.html">again</a>\n'
        '<!-- <script src="nothing.js"></script> -->\n'
        "<p>src=page/app.js is text</p>"
    )
    out, _ = rewrite_index(html, MOVED, ROOT)
    assert out == html


def test_a_reference_to_a_file_the_build_does_not_produce_is_refused() -> None:
    with pytest.raises(BuildError, match=r"page/missing\.js"):
        rewrite_index('<script type="module" src="page/missing.js"></script>', MOVED, ROOT)


def test_inline_styles_and_scripts_are_hashed_as_written() -> None:
    style = "\n:root { color: #123; }\n"
    script = "console.log('a < b')"
    html = (
        f"<style>{style}</style><script>{script}</script>"
        '<script type="module" src="page/app.js"></script><p style="x">'
    )
    _, hashes = rewrite_index(html, MOVED, ROOT)
    assert hashes == {"style-src": [sha(style)], "script-src": [sha(script)]}
