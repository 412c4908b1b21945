"""A tiny reverse proxy for ``deploy/local-stack.sh``: plain TCP splicing, round robin per
connection over the ``manage.py serve`` processes. HTTP, keep-alive and websocket upgrades pass
through untouched, as bytes.

Only for the local stack and its test: it terminates no TLS and sets no ``X-Forwarded-Proto``
(production puts Caddy or another TLS proxy there, README *Production*). It logs no client
address and nothing of what passes: one line when it listens, and a warning when no backend
takes a connection.

    python deploy/stack_proxy.py --listen 127.0.0.1:8000 127.0.0.1:8001 127.0.0.1:8002
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import signal

log = logging.getLogger("stack_proxy")
CONNECT_TIMEOUT = 5.0
CHUNK = 65536


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the half-close on; on an error close the sink."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        writer.close()


class Proxy:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The next backend in turn that accepts the connection (a stopped one is skipped)."""
        for _ in self.backends:
            host, port = self.backends[next(self._next)]
            with contextlib.suppress(OSError, TimeoutError):
                return await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
        return None

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:
            log.warning("no backend accepted a connection")
            client_w.close()
            return
        up_r, up_w = upstream
        try:
            await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))
        finally:
            for writer in (client_w, up_w):
                writer.close()
                with contextlib.suppress(OSError, RuntimeError):
                    await writer.wait_closed()


async def main(listen: tuple[str, int], backends: list[tuple[str, int]]) -> None:
    proxy = Proxy(backends)
    server = await asyncio.start_server(proxy.handle, listen[0], listen[1], backlog=256)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    names = ", ".join(f"{h}:{p}" for h, p in backends)
    log.info("listening on %s:%s, round robin over %s", listen[0], listen[1], names)
    await stop.wait()
    server.close()  # open connections are cancelled when the loop ends (asyncio.run)
    log.info("stopped")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=address, required=True, help="HOST:PORT to listen on")
    parser.add_argument("backends", type=address, nargs="+", help="HOST:PORT of each backend")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main(arguments.listen, arguments.backends))
