"""Command line: ``python -m pyserver serve | token | users add`` (DESIGN §4).

python -m pyserver serve [--host H] [--port P] [--database-url URL] [--web DIR] [--demo]
                         [--cors-origin ORIGIN ...] [--header-timeout S] [--body-timeout S]
                         [--access-log | --json-access-log]
python -m pyserver token USER_ID [--ttl SECONDS]
python -m pyserver csp --web DIR          (the page's Content-Security-Policy, for a proxy)
python -m pyserver users add EMAIL        (the password is read from stdin)
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from .app import create_app
from .auth import DEFAULT_TOKEN_TTL, TokenIssuer, create_user
from .config import database_url, jwks_verifier, jwt_secret
from .errors import ServerError
from .http_server import HEADER_TIMEOUT
from .request_body import BODY_TIMEOUT
from .storage import EmailTaken, open_storage

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"


def _serve(args: argparse.Namespace) -> int:
    from .http_server import serve

    web = Path(args.web) if args.web else None
    if web is not None and not (web / "index.html").is_file():
        print(f"pyserver: --web {web}: no index.html there (build the page first)", file=sys.stderr)
        return 2
    storage = open_storage(database_url(args.database_url))
    if args.demo and storage.find_user(DEMO_EMAIL) is None:
        with contextlib.suppress(EmailTaken):
            create_user(storage, DEMO_EMAIL, DEMO_PASSWORD)
        print(f"pyserver: demo user {DEMO_EMAIL} / {DEMO_PASSWORD}", flush=True)
    app = create_app(
        storage,
        jwt_secret(),
        web_dir=web,
        cors_origins=args.cors_origin,
        close_storage=True,
        body_timeout=args.body_timeout,
        jwks=jwks_verifier(),
        json_access_log=args.json_access_log,
    )
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    where = "page and API" if web else "API"
    print(f"pyserver: {where} on http://{shown_host}:{args.port}/ ({storage.backend})", flush=True)
    serve(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
        header_timeout=args.header_timeout,
    )
    return 0


def _token(args: argparse.Namespace) -> int:
    token, _ = TokenIssuer(jwt_secret()).issue(args.user_id, args.ttl)
    print(token)
    return 0


def _csp(args: argparse.Namespace) -> int:
    from .static import StaticWeb

    web = Path(args.web)
    if not (web / "index.html").is_file():
        print(f"pyserver: --web {web}: no index.html there (build the page first)", file=sys.stderr)
        return 2
    print(StaticWeb(web, fallback=_no_fallback).policy())
    return 0


async def _no_fallback(scope: object, receive: object, send: object) -> None:
    raise RuntimeError("not served")


def _users_add(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("pyserver: give the password on stdin", file=sys.stderr)
        return 2
    storage = open_storage(database_url(args.database_url))
    try:
        user_id = create_user(storage, args.email, password)
    except EmailTaken:
        print(f"pyserver: a user with email {args.email} exists", file=sys.stderr)
        return 1
    finally:
        storage.close()
    print(user_id)
    return 0


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("give seconds from 0 to 3600")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pyserver", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API (and with --web, the page)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--database-url", help="sqlite:///path or postgresql://...")
    serve.add_argument("--web", help="a built web directory to serve at /")
    serve.add_argument("--demo", action="store_true", help="create demo@example.com if missing")
    serve.add_argument(
        "--cors-origin", action="append", default=[], help="an origin allowed to call the API"
    )
    serve.add_argument("--log-level", default="warning")
    access = serve.add_mutually_exclusive_group()
    access.add_argument("--access-log", action="store_true", help="uvicorn's access log")
    access.add_argument(
        "--json-access-log", action="store_true", help="one JSON object per request on stdout"
    )
    serve.add_argument(
        "--header-timeout",
        type=_seconds,
        default=HEADER_TIMEOUT,
        help=f"seconds a request's headers may take (else 408; {HEADER_TIMEOUT:g})",
    )
    serve.add_argument(
        "--body-timeout",
        type=_seconds,
        default=BODY_TIMEOUT,
        help=f"seconds a request's body may take (else 408; {BODY_TIMEOUT:g})",
    )
    serve.set_defaults(run=_serve)

    token = commands.add_parser("token", help="print a token for USER_ID")
    token.add_argument("user_id")
    token.add_argument("--ttl", type=int, default=DEFAULT_TOKEN_TTL, help="seconds")
    token.set_defaults(run=_token)

    csp = commands.add_parser(
        "csp", help="print the page's Content-Security-Policy (for a reverse proxy serving it)"
    )
    csp.add_argument("--web", required=True, help="the built web directory")
    csp.set_defaults(run=_csp)

    users = commands.add_parser("users", help="manage users")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser("add", help="add a user; the password is read from stdin")
    add.add_argument("email")
    add.add_argument("--database-url", help="sqlite:///path or postgresql://...")
    add.set_defaults(run=_users_add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ServerError as exc:
        print(f"pyserver: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
