"""How uvicorn serves the app: HTTP/1.1 by h11, with deadlines that keep a slow or silent
client from holding a connection.

- **Headers**: a request's headers must arrive within ``HEADER_TIMEOUT`` seconds of the
  connection (or of the first byte of the next request on a kept-alive connection); else the
  server answers 408 ``request_timeout`` in the API's envelope (when some bytes came, so a
  client is there to read it) and closes. Uvicorn has no such deadline of its own: its
  keep-alive timer stops at a request's first byte.
- **Idle between requests**: ``KEEP_ALIVE_TIMEOUT`` seconds (uvicorn's ``timeout_keep_alive``).
- **Body**: read by the API within its own deadline (``request_body.BODY_TIMEOUT``, 408 too).
  When a response goes out before the client finished its body (a refusal), the rest of the
  body is read and dropped for at most ``HEADER_TIMEOUT`` seconds more, then the connection is
  closed: a body cannot trickle in for ever (uvicorn's keep-alive timer stops at each byte).

``serve`` runs uvicorn with these and with the ``pyserver`` logger wired to uvicorn's output
(a client that goes away is one line there, never a traceback: ``responses.py``).
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import h11
import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

from .security import API_CSP

__all__ = ["HEADER_TIMEOUT", "KEEP_ALIVE_TIMEOUT", "h11_protocol", "serve"]

HEADER_TIMEOUT = 10.0
KEEP_ALIVE_TIMEOUT = 5


def _timeout_response(seconds: float) -> bytes:
    body = json.dumps(
        {
            "ok": False,
            "error": {
                "code": "request_timeout",
                "message": f"the request headers did not arrive within {seconds:g} s",
            },
        },
        separators=(",", ":"),
    ).encode()
    head = [
        b"HTTP/1.1 408 Request Timeout",
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"cache-control: no-store",
        b"connection: close",
        b"x-content-type-options: nosniff",
        b"referrer-policy: no-referrer",
        b"content-security-policy: " + API_CSP.encode(),
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class _DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's headers."""

    header_timeout: float = HEADER_TIMEOUT
    _header_timer: asyncio.TimerHandle | None = None
    _drain_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm_header_timer()
        else:
            self._cancel_header_timer()
        if self.conn.their_state is not h11.SEND_BODY and self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            self._drain_timer = self.loop.call_later(self.header_timeout, self._close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None
        super().connection_lost(exc)

    def _close(self) -> None:
        self._drain_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:  # part of a request came: someone may read the answer
            self.transport.write(_timeout_response(self.header_timeout))
        self.transport.close()


def h11_protocol(header_timeout: float = HEADER_TIMEOUT) -> type[H11Protocol]:
    """The protocol class to give uvicorn (``http=``), with this header deadline."""
    return type("DeadlineH11Protocol", (_DeadlineH11Protocol,), {"header_timeout": header_timeout})


def _log_config(log_level: str) -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["pyserver"] = {
        "handlers": ["default"],
        "level": log_level.upper(),
        "propagate": False,
    }
    # The JSON access log (metrics.py; written only with --json-access-log): the line as is.
    config["formatters"]["json_line"] = {"format": "%(message)s"}
    config["handlers"]["json_access"] = {
        "class": "logging.StreamHandler",
        "formatter": "json_line",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["pyserver.access"] = {
        "handlers": ["json_access"],
        "level": "INFO",
        "propagate": False,
    }
    return config


def serve(
    app: Any,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    access_log: bool = False,
    header_timeout: float = HEADER_TIMEOUT,
) -> None:
    """Run uvicorn on ``app`` until it is stopped."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=h11_protocol(header_timeout),
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        log_config=_log_config(log_level),
        log_level=log_level,
        access_log=access_log,
        proxy_headers=False,
    )
