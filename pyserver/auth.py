"""Authentication: HS256 bearer tokens (PyJWT), argon2 password hashes, users and the login
throttle.

A token's ``sub`` is the userId and it must carry ``exp``; any algorithm other than HS256
(``none`` included) is refused, as is a token that is expired, malformed or wrongly signed.
A user is stored with an argon2id hash of their password under their lower-cased email.
After ``LOGIN_FAILURES_ALLOWED`` failed logins for one email within ``LOGIN_FAILURE_WINDOW``
seconds, further attempts answer 429 ``too_many_attempts`` with ``Retry-After``.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import ApiError, Unauthorized
from .storage import Storage

__all__ = [
    "DEFAULT_TOKEN_TTL",
    "LOGIN_FAILURES_ALLOWED",
    "LOGIN_FAILURE_WINDOW",
    "MAX_USER_ID_LENGTH",
    "MIN_SECRET_BYTES",
    "LoginThrottle",
    "TokenIssuer",
    "create_user",
    "hash_password",
    "verify_password",
]

ALGORITHM = "HS256"
#: Tokens from ``POST /auth/login`` and ``python -m pyserver token`` live this long by default.
DEFAULT_TOKEN_TTL = 7 * 24 * 3600
MAX_USER_ID_LENGTH = 128
#: HS256 wants a key at least as long as its hash (RFC 7518 §3.2).
MIN_SECRET_BYTES = 32
#: Failed logins per email within the window before further attempts get 429.
LOGIN_FAILURES_ALLOWED = 10
LOGIN_FAILURE_WINDOW = 300.0

_HASHER = PasswordHasher()


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
        if not authorization:
            raise Unauthorized("missing_token", "an Authorization: Bearer token is required")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("invalid_token", "the Authorization header must be 'Bearer <token>'")
        try:
            claims = jwt.decode(
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
        sub = claims.get("sub")
        if not isinstance(sub, str) or not 0 < len(sub) <= MAX_USER_ID_LENGTH:
            raise Unauthorized("invalid_token", "the token's subject is not a valid userId")
        return sub


def hash_password(password: str) -> str:
    """An argon2id hash (with its parameters and salt) of ``password``."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; never raises on a mismatch."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(storage: Storage, email: str, password: str) -> str:
    """Add a user with an argon2-hashed password; returns the new userId."""
    user_id = str(uuid.uuid4())
    storage.create_user(user_id, email.strip().lower(), hash_password(password))
    return user_id


class LoginThrottle:
    """Counts failed logins per email; too many within the window answer 429."""

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, email: str) -> None:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(email, []) if now - t < LOGIN_FAILURE_WINDOW]
            self._failures[email] = recent
            if len(recent) >= LOGIN_FAILURES_ALLOWED:
                retry = int(LOGIN_FAILURE_WINDOW - (now - recent[0])) + 1
                raise ApiError(
                    429,
                    "too_many_attempts",
                    "too many failed logins; try again later",
                    headers={"Retry-After": str(retry)},
                )

    def failed(self, email: str) -> None:
        with self._lock:
            self._failures.setdefault(email, []).append(time.monotonic())

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(email, None)
