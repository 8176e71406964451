"""A host learning app that embeds the progress client and signs learners in itself.

The host has its own sign-in (a name and a session cookie: a stand-in for a real identity
provider) and its own token endpoint, which signs short-lived ES256 tokens with the host's key;
the public key is served as a JWKS, against which pyserver checks the tokens (its JWKS mode).
The page (``static/``) creates the client with ``getToken``: the client asks the host for a
token at start, on ``signIn()`` and after a 401, so an expired token is renewed unseen.

    .venv/bin/python build.py                 # the page and the client, in dist/web
    .venv/bin/python examples/embedding/host.py --port 8200
    # open http://127.0.0.1:8200/example/

Everything runs in one process: the host's routes, and pyserver's app (API and client files)
mounted at ``/``, on a SQLite file in ``--data`` (a temporary directory by default).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pyserver import create_app, open_storage  # noqa: E402
from pyserver.jwks import JwksKeys, JwksVerifier  # noqa: E402

STATIC = Path(__file__).resolve().parent / "static"
AUDIENCE = "learning-progress"
COOKIE = "host_session"
#: The host page's policy: its own scripts and the client's (same origin), WebAssembly for
#: Pyodide, no inline code.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
    "worker-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


class HostIdentity:
    """The host's sign-in and token endpoint; its signing key's public half as a JWKS."""

    def __init__(self, issuer: str, token_ttl: int) -> None:
        self.issuer = issuer
        self.token_ttl = token_ttl
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = f"host-{secrets.token_hex(4)}"
        self.sessions: dict[str, str] = {}  # cookie -> user id
        self.tokens_issued = 0

    async def login(self, request: Request) -> Response:
        body = await request.json()
        name = str(body.get("name", "")).strip().lower()
        if not name.isalnum() or len(name) > 32:
            return JSONResponse({"error": "a name is letters and digits"}, status_code=400)
        cookie = secrets.token_urlsafe(24)
        self.sessions[cookie] = f"host-{name}"
        response = JSONResponse({"userId": self.sessions[cookie]})
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict")
        return response

    async def logout(self, request: Request) -> Response:
        self.sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE)
        return response

    async def token(self, request: Request) -> Response:
        """A token for the signed-in learner; 401 when no one is signed in."""
        user = self.sessions.get(request.cookies.get(COOKIE, ""))
        if user is None:
            return JSONResponse({"error": "not signed in"}, status_code=401)
        now = int(time.time())
        claims = {
            "sub": user,
            "iss": self.issuer,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + self.token_ttl,
        }
        self.tokens_issued += 1
        token = jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})
        return JSONResponse({"token": token}, headers={"Cache-Control": "no-store"})

    async def jwks(self, request: Request) -> Response:
        jwk = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        return JSONResponse({"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}]})

    async def stats(self, request: Request) -> Response:
        return JSONResponse({"tokensIssued": self.tokens_issued})


def _page_file(name: str, media_type: str) -> Route:
    async def serve(request: Request) -> Response:
        headers = {"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-cache"}
        return FileResponse(STATIC / name, media_type=media_type, headers=headers)

    path = "/example/" if name == "index.html" else f"/example/{name}"
    return Route(path, serve)


def build_app(port: int, web: Path, data: Path, token_ttl: int, leeway: float) -> Starlette:
    origin = f"http://127.0.0.1:{port}"
    host = HostIdentity(issuer=f"{origin}/", token_ttl=token_ttl)
    keys = JwksKeys(f"{origin}/host/jwks.json")
    storage = open_storage(f"sqlite:///{data / 'progress.sqlite3'}")
    progress = create_app(
        storage,
        secrets.token_urlsafe(48),  # the built-in login's secret: unused here
        web_dir=web,
        close_storage=True,
        jwks=JwksVerifier(keys, host.issuer, AUDIENCE, leeway=leeway),
    )
    return Starlette(
        routes=[
            Route("/host/login", host.login, methods=["POST"]),
            Route("/host/logout", host.logout, methods=["POST"]),
            Route("/host/token", host.token, methods=["GET"]),
            Route("/host/jwks.json", host.jwks, methods=["GET"]),
            Route("/host/stats", host.stats, methods=["GET"]),
            _page_file("index.html", "text/html"),
            _page_file("app.js", "text/javascript"),
            _page_file("app.css", "text/css"),
            Mount("/", app=progress),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--web", type=Path, default=ROOT / "dist" / "web")
    parser.add_argument("--data", type=Path, help="where the SQLite file goes")
    parser.add_argument("--token-ttl", type=int, default=300, help="seconds a token lives")
    parser.add_argument("--leeway", type=float, default=30.0, help="clock skew allowed, s")
    args = parser.parse_args()
    if not (args.web / "progress-client.js").is_file():
        print(f"host: {args.web} holds no built client: run build.py first", file=sys.stderr)
        return 2
    data = args.data or Path(tempfile.mkdtemp(prefix="embedding-example-"))
    data.mkdir(parents=True, exist_ok=True)
    app = build_app(args.port, args.web, data, args.token_ttl, args.leeway)
    print(f"host: http://127.0.0.1:{args.port}/example/", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
