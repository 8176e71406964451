"""The security headers of every response, API and page alike (DESIGN §9):
``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and a
``Content-Security-Policy``: the page's (``page_csp``, which ``static.py`` puts on every file it
serves, with the hashes of index.html's inline elements from build.json) or, on anything else
(API answers, errors, 404s), one that allows nothing (``API_CSP``).

The page's policy: scripts, styles, fetches and workers from this origin only; WebAssembly
compilation (``'wasm-unsafe-eval'``, which Pyodide needs) but no ``eval`` (nothing on the page
evaluates a string: pyclient's one JS helper is a module, web/kept-storage.js; the browser
tests fail on any violation); inline ``<style>`` and ``<script>`` only by the hash of their
text; ``style=`` attributes allowed (the page's views set some through ``setAttribute``, which
a hash cannot cover for computed values such as widths); the ``data:`` favicon; no plugins, no
``<base>``, forms to this origin only, never framed.

A 304 gets no policy from here: a browser merges a 304's headers into the stored response, and
the stored page must keep its own. ``SecurityHeaders`` is a few lines of ASGI rather than a
library: the one candidate (``secure``) replaces a policy a response already carries, and the
page's files and the API answer with different ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["API_CSP", "SecurityHeaders", "page_csp"]

_PAGE_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'", "'wasm-unsafe-eval'"),
    "style-src": ("'self'",),
    "style-src-attr": ("'unsafe-inline'",),
    "img-src": ("'self'", "data:"),
    "connect-src": ("'self'",),
    "worker-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def page_csp(inline: Mapping[str, Sequence[str]] | None = None) -> str:
    """The page's policy; `inline` adds hash sources (``"'sha256-…'"``) to ``style-src`` and
    ``script-src`` for the inline elements of index.html (build.json's ``csp``)."""
    policy = {k: list(v) for k, v in _PAGE_POLICY.items()}
    for directive in ("style-src", "script-src"):
        policy[directive] += [s for s in (inline or {}).get(directive, ()) if s.startswith("'sha")]
    return "; ".join(f"{k} {' '.join(v)}" for k, v in policy.items())


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in _ALWAYS if n not in present]
                if b"content-security-policy" not in present and message["status"] != 304:
                    headers.append((b"content-security-policy", API_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
