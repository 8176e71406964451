"""Bodies the server adds to pyclient's: the login exchange and the health report.

Progress bodies (``PutProgressRequest``, ``GetProgressResponse``, ``OkResponse``,
``ErrorEnvelope``) come from ``pyclient.models``, so client and server cannot drift.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

__all__ = ["HealthData", "HealthResponse", "LoginData", "LoginRequest", "LoginResponse"]

_CAMEL = ConfigDict(
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
    frozen=True,
    extra="forbid",
)


class LoginRequest(BaseModel):
    model_config = _CAMEL

    email: Annotated[
        str, StringConstraints(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    ]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class LoginData(BaseModel):
    model_config = _CAMEL

    token: str
    user_id: str
    #: When the token expires: RFC 3339 UTC with milliseconds.
    expires_at: str


class LoginResponse(BaseModel):
    model_config = _CAMEL

    ok: Literal[True] = True
    data: LoginData


class HealthData(BaseModel):
    model_config = _CAMEL

    status: Literal["ok"] = "ok"
    backend: str
    schema_version: int


class HealthResponse(BaseModel):
    model_config = _CAMEL

    ok: Literal[True] = True
    data: HealthData
