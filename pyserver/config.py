"""Where the server keeps its state: the data directory, the JWT secret, the database URL.

- Data directory: ``PYSERVER_DATA_DIR`` or ``./data``.
- JWT secret: ``PYSERVER_JWT_SECRET``, else generated once into ``<data dir>/jwt-secret``.
- Database: ``--database-url`` / ``PYSERVER_DATABASE_URL``, else a SQLite file in the data dir.
- Login limits: :func:`login_settings` (``PYSERVER_LOGIN_*``, ``PYSERVER_TRUSTED_PROXIES``).
- Tokens from a host's identity provider: :func:`jwks_verifier` (``PYSERVER_JWKS_URL``,
  ``PYSERVER_JWT_ISSUER``, ``PYSERVER_JWT_AUDIENCE``).
- What a user may store and how often they may write: :func:`write_limits`
  (``PYSERVER_QUOTA_*``, ``PYSERVER_PUT_RATE_LIMIT``, ``PYSERVER_RATE_LIMIT_STORAGE``).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .jwks import JwksVerifier

__all__ = [
    "LoginSettings",
    "WriteLimits",
    "data_dir",
    "database_url",
    "jwks_verifier",
    "jwt_secret",
    "login_settings",
    "write_limits",
]

_SECRET_FILE = "jwt-secret"


def data_dir() -> Path:
    """The data directory, created if missing."""
    path = Path(os.environ.get("PYSERVER_DATA_DIR") or "data")
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(explicit: str | None = None) -> str:
    """The database URL: the explicit one, the environment's, or SQLite in the data dir."""
    url = explicit or os.environ.get("PYSERVER_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'pyserver.sqlite3'}"


def jwt_secret() -> str:
    """The HS256 secret; generated once (0600) when the environment does not give one."""
    secret = os.environ.get("PYSERVER_JWT_SECRET")
    if secret:
        if len(secret.encode()) < 32:
            raise ConfigError("PYSERVER_JWT_SECRET must be at least 32 bytes")
        return secret
    path = data_dir() / _SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it right now
            text = path.read_text().strip()
            if text:
                return text
            time.sleep(0.02)
        raise ConfigError(f"{path} is empty; delete it or set PYSERVER_JWT_SECRET") from None
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
    return secret


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class LoginSettings:
    """How ``POST /auth/login`` is limited (see ``pyserver/login_limits.py``).

    Per account (email) and per client address: the first ``*_free - 1`` counted attempts
    pass at once, then each further one doubles the wait before the next (``backoff_base``,
    2x, 4x, ...) up to ``backoff_cap`` seconds; a counter left alone ``forget_after`` seconds
    starts over. At most ``concurrency`` password checks run at once in a process.
    """

    account_free: int = 10
    address_free: int = 30
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    forget_after: float = 900.0
    concurrency: int = 2
    trusted_proxies: tuple[IPNetwork, ...] = ()


def _env_number(name: str, default: float, *, minimum: float, integer: bool = False) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}") from None
    if not value >= minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def login_settings() -> LoginSettings:
    """The login limits from the environment, defaults for what it does not set.

    ``PYSERVER_LOGIN_ACCOUNT_FREE`` (10), ``PYSERVER_LOGIN_ADDRESS_FREE`` (30),
    ``PYSERVER_LOGIN_BACKOFF_BASE`` (1 s), ``PYSERVER_LOGIN_BACKOFF_CAP`` (30 s),
    ``PYSERVER_LOGIN_FORGET_AFTER`` (900 s), ``PYSERVER_LOGIN_CONCURRENCY`` (password checks at
    once: the CPU count, at most 4), ``PYSERVER_TRUSTED_PROXIES`` (comma-separated addresses or
    networks of reverse proxies whose ``X-Forwarded-For`` is believed; none by default).
    """
    default = LoginSettings(concurrency=max(1, min(4, os.cpu_count() or 1)))
    proxies: list[IPNetwork] = []
    for item in (os.environ.get("PYSERVER_TRUSTED_PROXIES") or "").split(","):
        if item.strip():
            try:
                proxies.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ConfigError(
                    f"PYSERVER_TRUSTED_PROXIES: {item.strip()!r} is not an address or network"
                ) from None

    def number(name: str, default: float, minimum: float) -> float:
        return _env_number(f"PYSERVER_LOGIN_{name}", default, minimum=minimum)

    def count(name: str, default: int) -> int:
        return int(_env_number(f"PYSERVER_LOGIN_{name}", default, minimum=1, integer=True))

    cap = number("BACKOFF_CAP", default.backoff_cap, 0.001)
    return LoginSettings(
        account_free=count("ACCOUNT_FREE", default.account_free),
        address_free=count("ADDRESS_FREE", default.address_free),
        backoff_base=number("BACKOFF_BASE", default.backoff_base, 0.001),
        backoff_cap=cap,
        forget_after=number("FORGET_AFTER", default.forget_after, cap),
        concurrency=count("CONCURRENCY", default.concurrency),
        trusted_proxies=tuple(proxies),
    )


@dataclass(frozen=True)
class WriteLimits:
    """What one user may store and how often they may write (``pyserver/write_limits.py``).

    ``quota_events`` and ``quota_bytes`` (bytes of stored event JSON) bound a user's log: an
    append that would take it past either is refused whole (403 ``quota_exceeded``). The
    defaults are years of real learning (a learner records some tens of events a day; an
    event is about 250 bytes). ``put_rate`` is how many PUTs a user may make in a moving
    window, in the notation of the ``limits`` library (``"60 per 10 seconds"``): a client
    pushing a full local log (hundreds of batches of 500) is slowed down, never refused for
    good. ``rate_storage`` is where the counts live: ``memory://`` counts per process (each
    of N processes allows the rate); a shared storage URI of ``limits`` (Redis, Memcached,
    MongoDB) makes them one count for all.
    """

    quota_events: int = 1_000_000
    quota_bytes: int = 1 << 30
    put_rate: str = "60 per 10 seconds"
    rate_storage: str = "memory://"


def write_limits() -> WriteLimits:
    """The write limits from the environment, defaults for what it does not set:
    ``PYSERVER_QUOTA_EVENTS`` (1,000,000), ``PYSERVER_QUOTA_BYTES`` (1 GiB),
    ``PYSERVER_PUT_RATE_LIMIT`` (``60 per 10 seconds``; ``none`` turns it off) and
    ``PYSERVER_RATE_LIMIT_STORAGE`` (``memory://``)."""
    from limits import parse

    default = WriteLimits()
    rate = os.environ.get("PYSERVER_PUT_RATE_LIMIT") or default.put_rate
    if rate.strip().lower() != "none":
        try:
            parse(rate)
        except ValueError:
            raise ConfigError(
                f"PYSERVER_PUT_RATE_LIMIT: {rate!r} is not a rate such as '60 per 10 seconds'"
            ) from None
    return WriteLimits(
        quota_events=int(
            _env_number("PYSERVER_QUOTA_EVENTS", default.quota_events, minimum=1, integer=True)
        ),
        quota_bytes=int(
            _env_number("PYSERVER_QUOTA_BYTES", default.quota_bytes, minimum=1, integer=True)
        ),
        put_rate=rate,
        rate_storage=os.environ.get("PYSERVER_RATE_LIMIT_STORAGE") or default.rate_storage,
    )


def jwks_verifier() -> JwksVerifier | None:
    """The identity provider's token checks when ``PYSERVER_JWKS_URL`` is set, else ``None``.

    ``PYSERVER_JWT_ISSUER`` and ``PYSERVER_JWT_AUDIENCE`` are then required (a token the same
    provider issued for another application must not get in); ``PYSERVER_JWKS_REFRESH``
    (600 s) is how old the keys may get before they are fetched again, ``PYSERVER_JWKS_MIN_REFETCH``
    (30 s) the least time between two fetches, ``PYSERVER_JWT_LEEWAY`` (30 s) the clock skew
    allowed on ``exp`` and ``nbf``.
    """
    from .jwks import JwksKeys, JwksVerifier

    url = (os.environ.get("PYSERVER_JWKS_URL") or "").strip()
    if not url:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        # Over plain HTTP anyone on the way could hand the server a key and forge any user.
        raise ConfigError(
            f"PYSERVER_JWKS_URL must be an https URL (http only on this machine), not {url!r}"
        )
    issuer = (os.environ.get("PYSERVER_JWT_ISSUER") or "").strip()
    audience = (os.environ.get("PYSERVER_JWT_AUDIENCE") or "").strip()
    if not issuer or not audience:
        raise ConfigError(
            "with PYSERVER_JWKS_URL, set PYSERVER_JWT_ISSUER and PYSERVER_JWT_AUDIENCE too"
        )
    keys = JwksKeys(
        url,
        refresh_every=_env_number("PYSERVER_JWKS_REFRESH", 600.0, minimum=1.0),
        min_refetch=_env_number("PYSERVER_JWKS_MIN_REFETCH", 30.0, minimum=0.0),
    )
    leeway = _env_number("PYSERVER_JWT_LEEWAY", 30.0, minimum=0.0)
    return JwksVerifier(keys, issuer, audience, leeway=leeway)
