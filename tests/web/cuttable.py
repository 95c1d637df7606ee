"""A TCP proxy on 127.0.0.1 in front of a real service, that a test cuts and restores."""

from __future__ import annotations

import asyncio
import contextlib


class CuttableLink:
    """While cut, the service is gone for the app: its connections drop, new ones are refused."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.upstream_port = host, port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._pipe, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def restore(self) -> None:
        await self.start()

    async def _pipe(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            service_in, service_out = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            client_out.transport.abort()
            return
        self._open.update({client_out, service_out})
        await asyncio.gather(_copy(client_in, service_out), _copy(service_in, client_out))
        self._open.difference_update({client_out, service_out})


async def _copy(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await source.read(65536):
            target.write(data)
            await target.drain()
    target.transport.abort()
