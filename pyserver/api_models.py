"""Bodies the server adds to pyclient's: the login exchange and the health report.

Progress bodies (``PutProgressRequest``, ``GetProgressResponse``, ``OkResponse``,
``ErrorEnvelope``) come from ``pyclient.core.models``, so client and server cannot drift.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from pyclient.core.models import WireModel

__all__ = ["HealthData", "HealthResponse", "LoginData", "LoginRequest", "LoginResponse"]


class LoginRequest(WireModel):
    email: Annotated[
        str, StringConstraints(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    ]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class LoginData(WireModel):
    token: str
    user_id: str
    #: When the token expires: RFC 3339 UTC with milliseconds.
    expires_at: str


class LoginResponse(WireModel):
    ok: Literal[True] = True
    data: LoginData


class HealthData(WireModel):
    status: Literal["ok"] = "ok"
    backend: str
    schema_version: int


class HealthResponse(WireModel):
    ok: Literal[True] = True
    data: HealthData
