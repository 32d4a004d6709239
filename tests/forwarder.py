"""A TCP forwarder for tests: listens on an address of the test's own (a veth
end) and relays every connection to a service that listens on 127.0.0.1 only
(PostgreSQL, Redis), so a process in another network namespace reaches it."""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


@contextmanager
def tcp_forwarder(listen_host: str, target: tuple[str, int], port: int = 0):
    """Yields the port it listens on at `listen_host` (`port`, or one of the
    system's choice); stops with the block, closing every relayed connection."""
    loop = asyncio.new_event_loop()

    async def relay(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    # the loop runs in its own thread only: a test may already run one in this
    # thread (Playwright's sync API does)
    thread = threading.Thread(target=loop.run_forever, name=f"forward-{target[1]}", daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(asyncio.start_server(relay, listen_host, port), loop).result(timeout=10)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:

        async def shut():
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shut(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
