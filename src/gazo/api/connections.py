"""uvicorn's HTTP protocol with the limits it lacks: header size and count, a slow-header deadline,
and a cap on open connections.

uvicorn bounds neither how long a client may take to send its headers nor how many connections it
holds, so 1,500 clients that each send a byte now and then kept 1,700 file descriptors open. Here a
connection that has not finished its request line and headers within `header_timeout_s` is closed,
one whose headers grow past `max_header_bytes` or `max_headers` gets 431, and past
`max_connections` a new connection is closed at once. A keep-alive connection between requests is
still governed by uvicorn's own `timeout_keep_alive`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gazo.settings import ServerSettings

logger = logging.getLogger(__name__)

_REFUSED_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
)


class _HeadersTooLarge(Exception):
    pass


def guarded_protocol(server: ServerSettings) -> type[HttpToolsProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` bound to these limits."""

    class Protocol(GuardedHttpProtocol):
        limits = server

    return Protocol


class GuardedHttpProtocol(HttpToolsProtocol):
    limits: ServerSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._header_count = 0
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            open_now = len(self.connections)
            logger.warning("refused a connection: %d are open (server.max_connections)", open_now)
            transport.abort()
            return
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        if self.transport is not None:  # None: refused in connection_made, never registered
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._header_deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm_header_deadline()  # the next request on a keep-alive connection starts here
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = self._header_count = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # a parser error of our own making already answered 431
            super().send_400_response(msg)

    def _count(self, size: int, fields: int) -> None:
        self._header_bytes += size
        self._header_count += fields
        limits = self.limits
        if self._header_bytes > limits.max_header_bytes or self._header_count > limits.max_headers:
            self._refuse_431(
                f"The request's headers exceed {limits.max_header_bytes} bytes "
                f"or {limits.max_headers} fields."
            )
            raise _HeadersTooLarge  # stops the parser; uvicorn then calls send_400_response

    def _refuse_431(self, message: str) -> None:
        self._refused = True
        self._disarm_header_deadline()
        body = (
            b'{"error":{"message":"%s","type":"invalid_request_error","param":null,'
            b'"code":"request_header_fields_too_large"}}' % message.encode()
        )
        self.transport.write(_REFUSED_431 % (len(body), body))
        self.transport.close()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.limits.header_timeout_s, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            waited = self.limits.header_timeout_s
            logger.info("closed a connection that sent no complete headers in %g s", waited)
            self.transport.close()
