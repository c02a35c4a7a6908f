"""The fan-out floor: a bare ``websockets`` broadcast server, one process, no Django, no
database, no channel layer. Every text a publisher sends on ``/publish`` goes to every other
open socket with ``websockets.broadcast`` (one frame built per connection, no task per send).

    .venv/bin/python bench/floor_ws.py --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import websockets
from websockets.asyncio.server import ServerConnection, broadcast, serve

listeners: set[ServerConnection] = set()


async def handler(connection: ServerConnection) -> None:
    if connection.request.path == "/publish":
        async for text in connection:
            broadcast(listeners, text)
        return
    listeners.add(connection)
    try:
        # Listeners send nothing; reading keeps the connection's close handshake going.
        async for _ in connection:
            pass
    except websockets.ConnectionClosed:
        pass
    finally:
        listeners.discard(connection)


async def main(port: int) -> None:
    # Same limits as our server under uvicorn: 64 KiB frames, no permessage-deflate (the
    # clients offer it, as browsers do, and are refused it), no keepalive pings during the run.
    async with serve(
        handler, "127.0.0.1", port, max_size=65536, compression=None, ping_interval=None
    ):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(main(parser.parse_args().port))
