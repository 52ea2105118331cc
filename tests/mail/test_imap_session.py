"""ImapSession against a server that stops answering mid-command: it drops the connection (the
command fails at once, not at the timeout) or stays silent (the command times out). The server is a
small IMAP responder on loopback, enough for greeting, login and select."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from core.mail.imap import ImapConfig, ImapError, ImapSession


async def _responder(drop_on_search: bool) -> AsyncIterator[int]:
    clients: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        clients.append(writer)
        writer.write(b"* OK IMAP4rev1 ready\r\n")
        while line := await reader.readline():
            tag, _, command = line.decode().strip().partition(" ")
            verb = command.split(" ")[0].upper()
            if verb == "CAPABILITY":
                writer.write(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n".encode())
            elif verb == "LOGIN":
                writer.write(f"{tag} OK logged in\r\n".encode())
            elif verb == "SELECT":
                writer.write(f"* 0 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [READ-WRITE] selected\r\n".encode())
            elif drop_on_search:
                await asyncio.sleep(0.2)
                writer.transport.abort()  # mid-command: no answer, the connection drops
                return
            # otherwise: no answer at all, the connection stays up
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for client in clients:
            client.transport.abort()
        server.close()
        await server.wait_closed()


@pytest.fixture
async def dropping() -> AsyncIterator[int]:
    async for port in _responder(drop_on_search=True):
        yield port


@pytest.fixture
async def silent() -> AsyncIterator[int]:
    async for port in _responder(drop_on_search=False):
        yield port


async def test_a_connection_dropped_mid_command_fails_it_at_once(dropping: int) -> None:
    session = ImapSession(ImapConfig("127.0.0.1", dropping, "u", "p", security="plain", timeout=30.0))
    await session.open()
    started = time.monotonic()
    with pytest.raises(ImapError):
        await session.new_uids(0)
    assert time.monotonic() - started < 5.0  # the drop is noticed, the 30 s timeout is not waited for
    await session.close()


async def test_a_server_that_stays_silent_times_the_command_out(silent: int) -> None:
    session = ImapSession(ImapConfig("127.0.0.1", silent, "u", "p", security="plain", timeout=0.5))
    await session.open()
    with pytest.raises(TimeoutError):
        await session.sizes([1, 2])
    await session.close()
