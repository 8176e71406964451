"""The dist's index.html, made from web/index.html: every relative `src`/`href` that names a
file the build moved into a content-hashed directory is rewritten to its new path, and the
hashes of its inline `<style>` and `<script>` elements are taken for the Content-Security-Policy.

web/index.html names files by their unhashed paths: page files by their path under web/
(`page/app.js`), runtime files as `pyodide/<file>`. A relative reference to a file the build does
not produce is an error, so the dist's index.html never points at nothing.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from buildsteps import BuildError

_URL_ATTR = re.compile(r"""(\s(?:src|href)\s*=\s*)("[^"]*"|'[^']*'|[^\s"'>]+)""", re.IGNORECASE)


class _Scan(HTMLParser):
    """Start tags (offset, raw text) and the text of inline <style>/<script> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tags: list[tuple[tuple[int, int], str]] = []
        self.inline: dict[str, list[str]] = {"style": [], "script": []}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text = self.get_starttag_text()
        if text is not None:
            self.tags.append((self.getpos(), text))
        if tag in self.inline and not (tag == "script" and dict(attrs).get("src")):
            self._open = tag
            self.inline[tag].append("")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.inline[self._open][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None


def csp_hash(text: str) -> str:
    """The CSP source expression allowing an inline element with this exact text."""
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def rewrite_index(
    html: str, moved: dict[str, str], produced: set[str]
) -> tuple[str, dict[str, list[str]]]:
    """(the rewritten document, {"style-src": [...], "script-src": [...]} of inline hashes).

    `moved` maps an unhashed path to its path in the dist; `produced` holds every other path the
    dist serves at its root level (index.html, the progress-client.js shim, ...).
    """
    scan = _Scan()
    scan.feed(html)
    scan.close()
    line_starts = [0] + [m.end() for m in re.finditer("\n", html)]  # as HTMLParser counts

    def new_url(match: re.Match[str]) -> str:
        raw = match.group(2)
        quote = raw[0] if raw[0] in "\"'" else ""
        url = raw[1:-1] if quote else raw
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith(("/", "#")) or not parts.path:
            return match.group(0)
        path = posixpath.normpath(parts.path)
        if path in moved:
            target = moved[path] + url[len(parts.path) :]
            return f"{match.group(1)}{quote}{target}{quote}"
        if path in produced:
            return match.group(0)
        raise BuildError(f"web/index.html refers to {url}, which the build does not produce.")

    out: list[str] = []
    done = 0
    for (line, col), text in scan.tags:
        start = line_starts[line - 1] + col
        out.append(html[done:start])
        out.append(_URL_ATTR.sub(new_url, text))
        done = start + len(text)
    out.append(html[done:])
    hashes = {
        "style-src": [csp_hash(t) for t in scan.inline["style"]],
        "script-src": [csp_hash(t) for t in scan.inline["script"]],
    }
    return "".join(out), hashes
