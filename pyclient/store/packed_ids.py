"""Canonical UUID eventIds packed into one string: how the stored formats write long runs of
ids.

- Dense (the version 3 formats): each id is 9 UTF-16 code units, 15 bits each, as the
  characters U+3400 + value (U+3400 to U+B3FF: no surrogates, controls or quotes, so JSON keeps
  them as they are). localStorage's quota counts UTF-16 code units: 9 an id instead of 22.
- Base64url of the ids' bytes, unpadded (the version 2 formats, read only): 22 an id.

:class:`PackedIds` packs incrementally: appending ids re-encodes only what is new (base64: the
last partial group), and its :attr:`~PackedIds.text` is always :func:`pack_ids` of every id
appended so far.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Final

__all__ = [
    "PackedIds",
    "dense_count",
    "is_uuid",
    "pack_dense",
    "pack_ids",
    "unpack_dense",
    "unpack_ids",
]

_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def is_uuid(value: str) -> bool:
    """Whether ``value`` is a lowercase canonical UUID (the only ids that are packed)."""
    return _UUID.match(value) is not None


_DENSE_BASE: Final = 0x3400
_DENSE_UNITS: Final = 9  # 9 x 15 bits >= 128


def pack_dense(ids: Iterable[str]) -> str:
    """Canonical UUIDs as 9 characters each (module docstring)."""
    out: list[str] = []
    for event_id in ids:
        n = int(event_id.replace("-", ""), 16)
        out.extend(chr(_DENSE_BASE + ((n >> shift) & 0x7FFF)) for shift in _SHIFTS)
    return "".join(out)


_SHIFTS: Final = tuple(range(15 * (_DENSE_UNITS - 1), -1, -15))
_DENSE_LOW: Final = chr(_DENSE_BASE)
_DENSE_HIGH: Final = chr(_DENSE_BASE + 0x7FFF)
#: An id's first unit holds its top 128 - 120 = 8 bits.
_DENSE_FIRST_HIGH: Final = chr(_DENSE_BASE + (1 << (128 - _SHIFTS[0])) - 1)


def dense_count(text: str) -> int:
    """How many ids :func:`pack_dense` packed into ``text``; ``ValueError`` when it is not
    that (a whole number of ids, every character in range, none over 128 bits)."""
    if len(text) % _DENSE_UNITS:
        raise ValueError("not a whole number of packed ids")
    if text and not (min(text) >= _DENSE_LOW and max(text) <= _DENSE_HIGH):
        raise ValueError("a character outside the packed range")
    if text and max(text[::_DENSE_UNITS]) > _DENSE_FIRST_HIGH:
        raise ValueError("a packed id over 128 bits")
    return len(text) // _DENSE_UNITS


def unpack_dense(text: str, start: int = 0, stop: int | None = None) -> list[str]:
    """The inverse of :func:`pack_dense` (the ids ``start`` to ``stop`` of it); ``ValueError``
    when that part is not one (:func:`dense_count` checks it)."""
    text = text[start * _DENSE_UNITS : None if stop is None else stop * _DENSE_UNITS]
    dense_count(text)
    values = [ord(c) - _DENSE_BASE for c in text]
    ids = []
    for i in range(0, len(values), _DENSE_UNITS):
        n = 0
        for value in values[i : i + _DENSE_UNITS]:
            n = (n << 15) | value
        h = f"{n:032x}"
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


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
    """:func:`pack_dense` (or, ``dense=False``, :func:`pack_ids`) of a growing list of ids,
    in O(new ids) an append."""

    __slots__ = ("_count", "_dense", "_head", "_raw", "_tail")

    def __init__(self, *, dense: bool = True) -> None:
        self._dense = dense
        self._count = 0
        self._raw = bytearray()
        self._head = ""  # base64url of _raw up to its last whole 3-byte group; or dense text
        self._tail = ""  # base64url of the rest

    def extend(self, ids: Iterable[str]) -> None:
        if self._dense:
            ids = list(ids)
            self._count += len(ids)
            self._head += pack_dense(ids)
            return
        raw = self._raw
        start = len(raw) // 3 * 3
        raw.extend(_bytes_of(ids))
        end = len(raw) // 3 * 3
        self._head += base64.urlsafe_b64encode(raw[start:end]).decode("ascii")
        self._tail = _b64(raw[end:])

    @property
    def count(self) -> int:
        return self._count if self._dense else len(self._raw) // 16

    @property
    def text(self) -> str:
        return self._head + self._tail
