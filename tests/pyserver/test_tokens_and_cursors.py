"""Units: bearer tokens (HS256 with sub and exp) and signed cursors."""

from __future__ import annotations

import pytest

from pyserver import TokenIssuer, Unauthorized
from pyserver.cursor import CursorCodec, InvalidCursor

from .conftest import SECRET


def test_a_cursor_round_trips_for_its_user_only() -> None:
    codec = CursorCodec(SECRET)
    for position in (0, 1, 999_999_999):
        assert codec.decode("alice", codec.encode("alice", position)) == position
    with pytest.raises(InvalidCursor):
        codec.decode("bob", codec.encode("alice", 3))


def test_a_cursor_signed_with_another_secret_is_refused() -> None:
    other = CursorCodec("another-" + "z" * 40).encode("alice", 3)
    with pytest.raises(InvalidCursor):
        CursorCodec(SECRET).decode("alice", other)


def test_a_cursor_is_opaque_url_safe_text() -> None:
    cursor = CursorCodec(SECRET).encode("alice", 42)
    assert cursor.isascii()
    assert "42" not in cursor
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_an_issued_token_verifies_to_its_user() -> None:
    issuer = TokenIssuer(SECRET)
    token, _ = issuer.issue("user-1", ttl=60)
    assert issuer.verify(f"Bearer {token}") == "user-1"


def test_an_expired_token_is_refused() -> None:
    issuer = TokenIssuer(SECRET)
    token, _ = issuer.issue("user-1", ttl=-10)
    with pytest.raises(Unauthorized) as refused:
        issuer.verify(f"Bearer {token}")
    assert refused.value.code == "token_expired"
    assert refused.value.headers == {"WWW-Authenticate": "Bearer"}


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenIssuer("short")
