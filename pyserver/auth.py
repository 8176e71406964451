"""Authentication: HS256 bearer tokens (PyJWT) and argon2 password hashes.

A token's ``sub`` is the userId and it must carry ``exp``; any algorithm other than HS256
(``none`` included) is refused, as is a token that is expired, malformed or wrongly signed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import Unauthorized

__all__ = [
    "DEFAULT_TOKEN_TTL",
    "MAX_USER_ID_LENGTH",
    "MIN_SECRET_BYTES",
    "TokenIssuer",
    "hash_password",
    "verify_password",
]

ALGORITHM = "HS256"
#: Tokens from ``POST /auth/login`` and ``python -m pyserver token`` live this long by default.
DEFAULT_TOKEN_TTL = 7 * 24 * 3600
MAX_USER_ID_LENGTH = 128
#: HS256 wants a key at least as long as its hash (RFC 7518 §3.2).
MIN_SECRET_BYTES = 32

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
