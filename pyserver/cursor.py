"""Paging of ``GET /progress``: the page size, and opaque cursors (a per-user log position,
signed so that clients cannot forge one).

A page holds ``DEFAULT_LIMIT`` events unless the request asks for 1 to ``MAX_LIMIT``. A cursor
is ``base64url("<position>.<mac>")`` where the MAC (HMAC-SHA256, truncated) binds the position
to the user: a cursor made for another user, edited, or not made by us is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

__all__ = ["DEFAULT_LIMIT", "MAX_CURSOR_LENGTH", "MAX_LIMIT", "CursorCodec", "InvalidCursor"]

DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
#: A longer ``since`` is refused before it is decoded.
MAX_CURSOR_LENGTH = 128
_MAC_BYTES = 12


class InvalidCursor(ValueError):
    """The cursor was not made by this server for this user."""


@dataclass(frozen=True)
class CursorCodec:
    secret: str

    def _mac(self, user_id: str, position: int) -> str:
        digest = hmac.new(
            self.secret.encode(), f"cursor:{user_id}:{position}".encode(), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).decode().rstrip("=")

    def encode(self, user_id: str, position: int) -> str:
        raw = f"{position}.{self._mac(user_id, position)}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, user_id: str, cursor: str) -> int:
        """The position a cursor names; :class:`InvalidCursor` if it is not one of ours."""
        if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
            raise InvalidCursor("malformed cursor")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            raise InvalidCursor("malformed cursor") from None
        text, _, mac = raw.partition(".")
        if not text.isdigit() or len(text) > 18 or (len(text) > 1 and text[0] == "0"):
            raise InvalidCursor("malformed cursor")
        position = int(text)
        if not hmac.compare_digest(mac, self._mac(user_id, position)):
            raise InvalidCursor("unknown cursor")
        return position
