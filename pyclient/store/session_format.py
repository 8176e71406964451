"""The signed-in session as stored, so that a reload stays signed in: ``{"v":1,"token":...,
"userId":...,"expiresAt":...}`` under :data:`~.keys.SESSION_KEY`. An unreadable value is no
session (it holds no progress, so it is not kept aside)."""

from __future__ import annotations

import contextlib
import json

from ..errors import StorageFullError
from ..http.api_client import Session
from ..ports import Storage
from .keys import SESSION_FORMAT_VERSION, SESSION_KEY

__all__ = ["read_session", "write_session"]


def read_session(storage: Storage) -> Session | None:
    """The stored session, or ``None`` (absent, or unreadable: then it is simply ignored)."""
    raw = storage.get(SESSION_KEY)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not (
        isinstance(data, dict)
        and data.get("v") == SESSION_FORMAT_VERSION
        and isinstance(data.get("token"), str)
        and isinstance(data.get("userId"), str)
        and data["token"]
        and data["userId"]
    ):
        return None
    expires = data.get("expiresAt")
    return Session(
        user_id=data["userId"],
        token=data["token"],
        expires_at=expires if isinstance(expires, str) else None,
    )


def write_session(storage: Storage, session: Session) -> None:
    value = {
        "v": SESSION_FORMAT_VERSION,
        "token": session.token,
        "userId": session.user_id,
        "expiresAt": session.expires_at,
    }
    with contextlib.suppress(StorageFullError):  # signed in for this tab only, then
        storage.set(SESSION_KEY, json.dumps(value, separators=(",", ":")))
