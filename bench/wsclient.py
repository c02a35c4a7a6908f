"""A receive-only WebSocket client (RFC 6455) in a few dozen lines of asyncio, for the live
benchmarks' fleets of clients.

The clients share the two cores with the servers they measure. With the ``websockets``
library's client, 100 clients reading 200 events/s each took about 42 % of a core (sampled
from ``/proc``): a fifth of the machine that neither server could use, at the rate where the
posting benchmark's tail is decided; this client takes about a third as much (README, "Live
benchmark clients"). It parses only what a server sends a reader that sends nothing:
unmasked frames, text and binary messages (fragmented or not), ping, pong and close. It
checks the handshake's ``Sec-WebSocket-Accept``, answers pings and closes, and fails the
connection on anything a server must not send (a masked frame, a reserved bit without an
extension, an unknown opcode, text that is not UTF-8), as a browser would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


class HandshakeFailed(Exception):
    pass


def client_frame(opcode: int, payload: bytes = b"") -> bytes:
    """One final frame from a client: masked, as RFC 6455 requires (control frames only
    here, so under 126 bytes)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


class Reader(asyncio.Protocol):
    """One connection. ``on_message(data, now)`` gets each complete message's payload (bytes;
    text is checked to be UTF-8) and the ``time.monotonic()`` of the read it completed in."""

    def __init__(
        self,
        url: str,
        origin: str,
        on_message: Callable[[bytes, float], None],
        clock: Callable[[], float],
    ) -> None:
        parts = urlsplit(url)
        self.host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.origin, self.on_message, self.clock = origin, on_message, clock
        self.key = base64.b64encode(os.urandom(16))
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[int | None] = loop.create_future()  # the server's code
        self.buffer = bytearray()
        self.handshaken = False
        self.fragments: list[bytes] = []
        self.fragment_opcode = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key.decode()}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {self.origin}\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            if not self.handshaken and not self._handshake():
                return
            self._frames()
        except (HandshakeFailed, ValueError) as exc:
            self._fail(exc)

    def _handshake(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > 16384:
                raise HandshakeFailed("response head too long")
            return False
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        del self.buffer[: end + 4]
        status = head[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            raise HandshakeFailed(f"server answered {head[0]!r}")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in head[1:])
        }
        expected = base64.b64encode(hashlib.sha1(self.key + GUID).digest()).decode()  # noqa: S324
        if headers.get("sec-websocket-accept") != expected:
            raise HandshakeFailed("wrong Sec-WebSocket-Accept")
        if headers.get("sec-websocket-extensions"):
            raise HandshakeFailed("an extension this client did not offer")
        self.handshaken = True
        self.opened.set_result(None)
        return True

    def _frames(self) -> None:
        buffer, at, now = self.buffer, 0, None
        while len(buffer) - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            if first & 0x70 or second & 0x80:
                raise ValueError("reserved bit set, or a masked frame from the server")
            length, start = second & 0x7F, at + 2
            if length == 126:
                if len(buffer) - at < 4:
                    break
                (length,), start = struct.unpack_from("!H", buffer, at + 2), at + 4
            elif length == 127:
                if len(buffer) - at < 10:
                    break
                (length,), start = struct.unpack_from("!Q", buffer, at + 2), at + 10
            if len(buffer) < start + length:
                break
            payload = bytes(buffer[start : start + length])
            at = start + length
            if now is None:
                now = self.clock()
            self._frame(first & 0x0F, bool(first & 0x80), payload, now)
        del buffer[:at]

    def _frame(self, opcode: int, final: bool, payload: bytes, now: float) -> None:
        if opcode in (TEXT, BINARY):
            if self.fragments:
                raise ValueError("a new message inside a fragmented one")
            if final:
                self._message(opcode, payload, now)
            else:
                self.fragment_opcode, self.fragments = opcode, [payload]
        elif opcode == CONTINUATION:
            if not self.fragments:
                raise ValueError("a continuation with no message to continue")
            self.fragments.append(payload)
            if final:
                message, self.fragments = b"".join(self.fragments), []
                self._message(self.fragment_opcode, message, now)
        elif opcode == PING:
            self._send(client_frame(PONG, payload))
        elif opcode == CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            if not self.closed.done():
                self.closed.set_result(code)
            self._send(client_frame(CLOSE, payload[:2]))
            assert self.transport is not None
            self.transport.close()
        elif opcode != PONG:
            raise ValueError(f"unknown opcode {opcode}")

    def _message(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == TEXT:
            payload.decode("utf-8")  # raises on text that is not UTF-8
        self.on_message(payload, now)

    def _send(self, frame: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def _fail(self, exc: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        if not self.closed.done():
            self.closed.set_result(1002)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)  # gone without a close frame

    async def close(self, timeout: float = 5.0) -> None:
        """Start the closing handshake and wait for the server's close (or ``timeout``)."""
        if not self.closed.done():
            self._send(client_frame(CLOSE, struct.pack("!H", 1000)))
            try:
                await asyncio.wait_for(asyncio.shield(self.closed), timeout)
            except TimeoutError:
                pass
        if self.transport is not None:
            self.transport.close()


async def connect(
    url: str,
    *,
    origin: str,
    on_message: Callable[[bytes, float], None],
    clock: Callable[[], float],
    timeout: float = 60.0,
) -> Reader:
    """Open ``url`` (``ws://`` only: the benchmarks run on loopback) and return its reader
    once the handshake has succeeded."""
    parts = urlsplit(url)
    if parts.scheme != "ws":
        raise ValueError("only ws:// URLs")
    loop = asyncio.get_running_loop()
    reader: Reader | None = None

    def made() -> Reader:
        nonlocal reader
        reader = Reader(url, origin, on_message, clock)
        return reader

    async def handshake() -> Reader:
        await loop.create_connection(made, parts.hostname, parts.port or 80)
        assert reader is not None
        await reader.opened
        return reader

    try:
        return await asyncio.wait_for(handshake(), timeout)
    except BaseException:
        if reader is not None and reader.transport is not None:
            reader.transport.abort()
        raise
