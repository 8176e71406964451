"""Canonical UUID eventIds packed as one base64url string of their bytes (unpadded): how the
stored formats write long runs of ids (22 characters an id instead of 38).

:class:`PackedIds` packs incrementally: appending ids re-encodes only the last partial group,
and its :attr:`~PackedIds.text` is always :func:`pack_ids` of every id appended so far.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Final

__all__ = ["PackedIds", "is_uuid", "pack_ids", "unpack_ids"]

_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def is_uuid(value: str) -> bool:
    """Whether ``value`` is a lowercase canonical UUID (the only ids that are packed)."""
    return _UUID.match(value) is not None


def _bytes_of(ids: Iterable[str]) -> bytes:
    return bytes.fromhex("".join(ids).replace("-", ""))


def _b64(data: bytes | bytearray) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def pack_ids(ids: Iterable[str]) -> str:
    """Canonical UUIDs as one base64url string of their bytes, unpadded."""
    return _b64(_bytes_of(ids))


def unpack_ids(text: str) -> list[str]:
    """The inverse of :func:`pack_ids`; ``ValueError`` when it is not one."""
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64url: {exc}") from None
    if len(data) % 16:
        raise ValueError("not a whole number of UUIDs")
    h = data.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-"
        f"{h[i + 20 : i + 32]}"
        for i in range(0, len(h), 32)
    ]


class PackedIds:
    """:func:`pack_ids` of a growing list of ids, in O(new ids) an append."""

    __slots__ = ("_head", "_raw", "_tail")

    def __init__(self) -> None:
        self._raw = bytearray()
        self._head = ""  # base64url of _raw up to its last whole 3-byte group
        self._tail = ""  # base64url of the rest

    def extend(self, ids: Iterable[str]) -> None:
        raw = self._raw
        start = len(raw) // 3 * 3
        raw.extend(_bytes_of(ids))
        end = len(raw) // 3 * 3
        self._head += base64.urlsafe_b64encode(raw[start:end]).decode("ascii")
        self._tail = _b64(raw[end:])

    @property
    def count(self) -> int:
        return len(self._raw) // 16

    @property
    def text(self) -> str:
        return self._head + self._tail
