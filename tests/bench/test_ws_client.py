"""The benchmarks' own WebSocket client (bench/wsclient.py): the live benchmarks' verdicts
(missed, duplicated, latency) are only as good as what it reads. Against a real ``websockets``
server for what a server normally sends, and a scripted one for what a server must not."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
import time

import pytest
import websockets
import websockets.sync.client
from websockets.asyncio.server import serve

from bench.wsclient import GUID, HandshakeFailed, connect

ORIGIN = "http://127.0.0.1"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.arrived = asyncio.Event()

    def __call__(self, payload: bytes, now: float) -> None:
        self.messages.append(payload)
        self.arrived.set()

    async def wait_for(self, count: int) -> list[bytes]:
        async with asyncio.timeout(5):
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.messages


@pytest.fixture
async def real_server():
    """A websockets server that sends what each test's handler sends; records the Origin
    and what the client sends back."""
    seen: dict = {"origin": None, "pongs": 0, "close_code": None}
    script: list = []

    async def handler(connection) -> None:
        seen["origin"] = connection.request.headers.get("Origin")
        for step in script:
            await step(connection)
        try:
            async for _ in connection:
                pass
        except websockets.ConnectionClosed:
            pass
        seen["close_code"] = connection.close_code

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/listen", script, seen


async def test_text_messages_arrive_whole_and_in_order(real_server):
    url, script, _ = real_server

    async def send(connection) -> None:
        for index in range(50):
            await connection.send(f'{{"comment":{{"id":{index}}}}}')

    script.append(send)
    inbox = Inbox()
    client = await connect(url, origin=ORIGIN, on_message=inbox, clock=time.monotonic)
    messages = await inbox.wait_for(50)
    assert messages == [f'{{"comment":{{"id":{i}}}}}'.encode() for i in range(50)]
    await client.close()


async def test_a_fragmented_message_is_put_together(real_server):
    url, script, _ = real_server

    async def send(connection) -> None:
        await connection.send(["é" * 10, "x" * 70000, "end"])  # three frames, one message

    script.append(send)
    inbox = Inbox()
    client = await connect(url, origin=ORIGIN, on_message=inbox, clock=time.monotonic)
    (message,) = await inbox.wait_for(1)
    assert message.decode() == "é" * 10 + "x" * 70000 + "end"
    await client.close()


async def test_the_origin_is_sent_and_a_ping_is_answered(real_server):
    url, script, seen = real_server

    async def ping(connection) -> None:
        waiter = await connection.ping(b"are you there")
        async with asyncio.timeout(5):
            await waiter
        seen["pongs"] += 1
        await connection.send('{"comment":{"id":1}}')

    script.append(ping)
    inbox = Inbox()
    client = await connect(url, origin=ORIGIN, on_message=inbox, clock=time.monotonic)
    await inbox.wait_for(1)
    assert seen["origin"] == ORIGIN
    assert seen["pongs"] == 1
    await client.close()


async def test_the_servers_close_code_is_reported_and_the_close_answered(real_server):
    url, script, _ = real_server

    async def close(connection) -> None:
        await connection.close(code=4503)

    script.append(close)
    client = await connect(url, origin=ORIGIN, on_message=Inbox(), clock=time.monotonic)
    async with asyncio.timeout(5):
        assert await client.closed == 4503


async def test_closing_from_the_client_completes_the_handshake(real_server):
    url, _, seen = real_server
    client = await connect(url, origin=ORIGIN, on_message=Inbox(), clock=time.monotonic)
    await client.close()
    assert client.closed.result() == 1000
    async with asyncio.timeout(5):
        while seen["close_code"] is None:
            await asyncio.sleep(0.01)
    assert seen["close_code"] == 1000


# --- A scripted server, for what a server must not send --------------------------------------


async def scripted_server(answer, frames: bytes = b""):
    """A server that answers the handshake with ``answer(key)`` then writes ``frames``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        key = next(
            line.split(":", 1)[1].strip()
            for line in head.split("\r\n")
            if line.lower().startswith("sec-websocket-key:")
        )
        writer.write(answer(key) + frames)
        await writer.drain()
        await reader.read()  # until the client goes
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def accept(key: str, extra: str = "") -> bytes:
    digest = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()  # noqa: S324
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {digest}\r\n{extra}\r\n"
    ).encode()


def frame(first: int, payload: bytes, *, mask: bytes | None = None) -> bytes:
    second = len(payload) | (0x80 if mask else 0)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return bytes([first, second]) + mask + payload
    return bytes([first, second]) + payload


async def open_scripted(answer, frames: bytes = b""):
    server = await scripted_server(answer, frames)
    port = server.sockets[0].getsockname()[1]
    return server, f"ws://127.0.0.1:{port}/listen"


@pytest.mark.parametrize(
    "answer",
    [
        lambda key: b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
        lambda key: accept("not the key that was sent"),
        lambda key: accept(key, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
    ],
    ids=["refused", "wrong accept", "unoffered extension"],
)
async def test_a_handshake_that_is_not_an_rfc_6455_accept_fails(answer):
    server, url = await open_scripted(answer)
    async with server:
        with pytest.raises(HandshakeFailed):
            await connect(url, origin=ORIGIN, on_message=Inbox(), clock=time.monotonic)


@pytest.mark.parametrize(
    "frames",
    [
        frame(0x81, b'{"comment":{"id":1}}', mask=b"abcd"),  # servers must not mask
        frame(0xC1, b'{"comment":{"id":1}}'),  # RSV1 with no extension agreed
        frame(0x83, b"?"),  # reserved opcode
        frame(0x81, b"\xff\xfe"),  # text that is not UTF-8
        frame(0x80, b"more"),  # a continuation of nothing
    ],
    ids=["masked", "reserved bit", "unknown opcode", "invalid utf-8", "stray continuation"],
)
async def test_a_frame_a_server_must_not_send_fails_the_connection_and_is_not_delivered(frames):
    server, url = await open_scripted(accept, frames)
    async with server:
        inbox = Inbox()
        client = await connect(url, origin=ORIGIN, on_message=inbox, clock=time.monotonic)
        async with asyncio.timeout(5):
            assert await client.closed == 1002
        assert inbox.messages == []


async def test_frames_split_across_reads_are_put_together():
    payload = b'{"comment":{"id":7}}' * 10  # 200 bytes: a 16-bit length
    whole = bytes([0x81, 126]) + struct.pack("!H", len(payload)) + payload
    server, url = await open_scripted(accept)
    async with server:
        inbox = Inbox()
        client = await connect(url, origin=ORIGIN, on_message=inbox, clock=time.monotonic)
        for piece in (whole[:1], whole[1:3], whole[3:50], whole[50:] + whole):
            client.data_received(piece)
        assert inbox.messages == [payload, payload]
        client.transport.abort()


# --- A fleet of clients in child processes, as the live benchmarks run them -------------------


@pytest.fixture
def broadcast_port():
    """The fan-out floor (bench/floor_ws.py): every text sent on /publish goes to each
    listener."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.live_server import free_port

    port = free_port()
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "bench/floor_ws.py", "--port", str(port)], cwd=root)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with websockets.sync.client.connect(f"ws://127.0.0.1:{port}/publish"):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_fleet_counts_what_each_client_missed_and_received_twice(broadcast_port):

    from bench.live import Fleet

    with Fleet(f"ws://127.0.0.1:{broadcast_port}/listen", 4) as fleet:
        assert fleet.connected == 4
        with websockets.sync.client.connect(f"ws://127.0.0.1:{broadcast_port}/publish") as pub:
            sent = {}
            for key in (1, 2, 3, 2):  # 2 twice; 4 never
                sent.setdefault(key, time.monotonic())
                pub.send(f'{{"type":"comment.created","comment":{{"id":{key}}}}}')
        sent[4] = time.monotonic()
        deadline = time.monotonic() + 10
        while fleet.received() < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
        result = fleet.finish(sent)
    assert len(result.latencies_ms) == 12  # 3 ids to 4 clients, first receipts only
    assert sorted(result.event_ids) == [1] * 4 + [2] * 4 + [3] * 4
    assert all(0 <= ms < 10_000 for ms in result.latencies_ms)
    assert result.missed == 4
    assert result.clients_missing_any == 4
    assert result.duplicates == 4
    assert (result.unexpected, result.connect_failures, result.disconnects) == (0, 0, 0)
