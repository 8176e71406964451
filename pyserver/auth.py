"""Authentication: bearer tokens (PyJWT), argon2id password hashes and users.

Two kinds of token, told apart by the algorithm in their header (:class:`Authenticator`):
HS256 tokens this server issued itself (``POST /auth/login``, ``python -m pyserver token``;
:class:`TokenIssuer`) and, when ``PYSERVER_JWKS_URL`` is set, RS256/ES256/EdDSA tokens from a
host's identity provider (``pyserver/jwks.py``). A token's ``sub`` is the userId and it must
carry ``exp``; any other algorithm (``none`` included) is refused, as is a token that is
expired, malformed or wrongly signed, and an HS256 token is only ever checked with the secret.
A user is stored with an argon2id hash of their password under their lower-cased email.

Password hashes: argon2id with OWASP's recommended minimum, **m = 19 MiB, t = 2, p = 1**
(``ARGON2_MEMORY_KIB``, ``ARGON2_TIME_COST``, ``ARGON2_PARALLELISM``): about 19 MiB and some
tens of milliseconds of one core a check, instead of argon2-cffi's default 64 MiB with 4 lanes.
A hash records its own parameters, so hashes made with others (the earlier default) still
verify; :func:`password_needs_rehash` tells the login to store a new hash after a success.
How many checks run at once, and how often one may be attempted, is the login's business
(``pyserver/login_limits.py``).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import Unauthorized
from .jwks import JwksVerifier
from .storage import Storage

__all__ = [
    "ARGON2_MEMORY_KIB",
    "ARGON2_PARALLELISM",
    "ARGON2_TIME_COST",
    "DEFAULT_TOKEN_TTL",
    "MAX_USER_ID_LENGTH",
    "MIN_SECRET_BYTES",
    "Authenticator",
    "TokenIssuer",
    "create_user",
    "dummy_hash",
    "hash_password",
    "password_checks",
    "password_needs_rehash",
    "verify_password",
]

ALGORITHM = "HS256"
#: Tokens from ``POST /auth/login`` and ``python -m pyserver token`` live this long by default.
DEFAULT_TOKEN_TTL = 7 * 24 * 3600
MAX_USER_ID_LENGTH = 128
#: HS256 wants a key at least as long as its hash (RFC 7518 §3.2).
MIN_SECRET_BYTES = 32
#: argon2id parameters of new hashes (OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1).
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1

_HASHER = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_KIB,
    parallelism=ARGON2_PARALLELISM,
    type=Type.ID,
)
_checks = 0
_checks_lock = threading.Lock()


@dataclass(frozen=True)
class TokenIssuer:
    """Issues and verifies tokens with one secret."""

    secret: str

    def __post_init__(self) -> None:
        if len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")

    def issue(self, user_id: str, ttl: int = DEFAULT_TOKEN_TTL) -> tuple[str, int]:
        """A token for ``user_id`` and its expiry (seconds since the epoch)."""
        if not 0 < len(user_id) <= MAX_USER_ID_LENGTH:
            raise ValueError("a userId is 1 to 128 characters")
        now = int(time.time())
        expires = now + ttl
        token = jwt.encode({"sub": user_id, "iat": now, "exp": expires}, self.secret, ALGORITHM)
        return token, expires

    def verify(self, authorization: str | None) -> str:
        """The userId of a valid ``Authorization: Bearer <token>`` header, else 401."""
        return _user_id(self.claims(bearer_token(authorization)))

    def claims(self, token: str) -> dict[str, Any]:
        """The checked claims of one of this issuer's tokens, else 401."""
        try:
            return jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token_expired", "the token has expired") from None
        except jwt.InvalidTokenError:
            raise Unauthorized(
                "invalid_token", "the token is malformed or wrongly signed"
            ) from None


@dataclass(frozen=True)
class Authenticator:
    """The userId of a request's bearer token: this server's own HS256 tokens, and a host's
    identity provider's when ``jwks`` is set (see the module's docstring)."""

    issuer: TokenIssuer
    jwks: JwksVerifier | None = None

    async def user_id(self, authorization: str | None) -> str:
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthorized("invalid_token", "the token is malformed") from None
        if header.get("alg") == ALGORITHM:
            return _user_id(self.issuer.claims(token))
        if self.jwks is None:
            raise Unauthorized("invalid_token", "the token's algorithm is not accepted")
        return _user_id(await self.jwks.claims(token, header))


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, else 401."""
    if not authorization:
        raise Unauthorized("missing_token", "an Authorization: Bearer token is required")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("invalid_token", "the Authorization header must be 'Bearer <token>'")
    return token


def _user_id(claims: dict[str, Any]) -> str:
    """The userId a token's claims name: a string of 1 to 128 characters that can be stored."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= MAX_USER_ID_LENGTH:
        raise Unauthorized("invalid_token", "the token's subject is not a valid userId")
    if ":" in sub or not sub.isprintable():
        # A userId is part of the client's storage keys (``...:{userId}``), where ":" separates
        # a log from its segments: "alice:segment:1" must not name another learner's segment.
        raise Unauthorized("invalid_token", "the token's subject is not a valid userId")
    if not sub.isascii():
        try:  # a lone surrogate ("\ud800" in the claim) is no userId: nothing can store it
            sub.encode("utf-8")
        except UnicodeEncodeError:
            raise Unauthorized(
                "invalid_token", "the token's subject is not a valid userId"
            ) from None
    return sub


def hash_password(password: str) -> str:
    """An argon2id hash (with its parameters and salt) of ``password``."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; never raises on a mismatch."""
    global _checks
    with _checks_lock:
        _checks += 1
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_checks() -> int:
    """How many passwords this process has checked (:func:`verify_password` calls)."""
    return _checks


def password_needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with other parameters than today's."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False


@cache
def dummy_hash() -> str:
    """A real hash to check against when the email is unknown, so both cases take as long."""
    return hash_password("not a password of anyone")


def create_user(storage: Storage, email: str, password: str) -> str:
    """Add a user with an argon2-hashed password; returns the new userId."""
    user_id = str(uuid.uuid4())
    storage.create_user(user_id, email.strip().lower(), hash_password(password))
    return user_id
