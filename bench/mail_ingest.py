"""Mail intake throughput: mails ingested per second from a mailbox of N mails with attachments,
against the raw rate of fetching the same mails with the same IMAP client and no processing.

    python -m bench.mail_ingest [--mails 1000] [--batch 25] [--parse-on-loop]

Both run in this process against pymap (in memory, on loopback) and PostgreSQL (an embedded server in a
temporary directory), so the IMAP server's own cost is in both figures. Intake stores a batch in one
transaction (a savepoint per mail) and parses the next batch in a worker thread meanwhile; the longest
stall of the event loop during intake is printed too (`--parse-on-loop` parses on the loop instead, to
compare).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from core.db import asyncpg_dsn, create_engine, create_session_factory
from core.i18n import load_translator
from core.mail.imap import ImapConfig, ImapSession
from core.mail.intake import IntakeOptions
from core.mail.poller import MailPoller
from core.migrate import upgrade
from core.models import Attachment, Message
from core.settings import load_settings
from core.storage import FolderStore
from desk import build_channels
from tests.mail.servers import PASSWORD, USER, ImapTestServer
from tests.pg import PostgresForTests


def sample_mail(i: int) -> bytes:
    """A typical support mail: a short text and a ~20 KB attachment, threaded every third mail."""
    attachment = base64.encodebytes(os.urandom(15_000)).decode().replace("\n", "\r\n")
    reply = f"In-Reply-To: <bench{i - 1}@example.com>\r\n" if i % 3 else ""
    return (
        f"From: Customer {i % 97} <customer{i % 97}@example.com>\r\nTo: support@desk.test\r\n"
        f"Subject: Order {i} question\r\nMessage-ID: <bench{i}@example.com>\r\n{reply}"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hello, where is my order {i}? Photo attached.\r\n"
        "--B\r\nContent-Type: image/jpeg; name=\"photo.jpg\"\r\n"
        "Content-Disposition: attachment; filename=\"photo.jpg\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{attachment}--B--\r\n"
    ).encode()


async def raw_fetch(config: ImapConfig, batch: int) -> tuple[int, int, float]:
    """The same client, the same batches (sizes, then bodies), no parsing and no database."""
    imap = ImapSession(config)
    await imap.open()
    try:
        started = time.perf_counter()
        uids = await imap.new_uids(0)
        fetched = total_bytes = 0
        for start in range(0, len(uids), batch):
            chunk = uids[start : start + batch]
            await imap.sizes(chunk)
            bodies = await imap.fetch(chunk)
            fetched += len(bodies)
            total_bytes += sum(len(b) for b in bodies.values())
        return fetched, total_bytes, time.perf_counter() - started
    finally:
        await imap.close()


class StallMeter:
    """How late a 5 ms tick of the event loop comes at worst: what a bot update or a panel request
    waiting on the same loop would wait."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - started - 0.005)

    def __enter__(self) -> StallMeter:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def ingest(url: str, config: ImapConfig, storage: Path, batch: int,
                 parse_on_loop: bool = False) -> tuple[int, int, float, float]:
    engine = create_engine(url)
    sessions = create_session_factory(engine, channels=build_channels(load_settings(_env_file=None)))
    options = IntakeOptions(mailbox=config.mailbox, own_addresses=frozenset({USER}), reopen_window_hours=72,
                            acknowledge=True, default_language="en")
    poller = MailPoller(sessions, asyncpg_dsn(url), FolderStore(storage, 20 << 20), load_translator(), config,
                        options, batch=batch, parse_off_loop=not parse_on_loop)
    imap = ImapSession(config)
    await imap.open()
    try:
        with StallMeter() as stalls:
            started = time.perf_counter()
            handled = await poller.sync(imap)
            elapsed = time.perf_counter() - started
    finally:
        await imap.close()
    async with sessions() as session:
        messages = int(await session.scalar(select(func.count()).select_from(Message)) or 0)
        files = int(await session.scalar(select(func.count()).select_from(Attachment)) or 0)
    await engine.dispose()
    assert handled == messages, (handled, messages)
    return messages, files, elapsed, stalls.worst


async def main(mails: int, batch: int, parse_on_loop: bool) -> None:
    logging.basicConfig(level=logging.WARNING)
    pg = PostgresForTests()
    await asyncio.to_thread(pg.start)
    server = ImapTestServer()
    try:
        url = pg.url_for(await pg.create_database())
        await upgrade(url)
        await server.start()
        print(f"filling the mailbox with {mails} mails...", flush=True)
        await server.append(*(sample_mail(i) for i in range(mails)))
        config = ImapConfig("127.0.0.1", server.port, USER, PASSWORD, "plain", timeout=60)
        await raw_fetch(config, batch)  # warm-up: caches and connections on both sides
        fetched, size, raw_seconds = await raw_fetch(config, batch)
        with tempfile.TemporaryDirectory() as storage:
            messages, files, ingest_seconds, stall = await ingest(url, config, Path(storage), batch, parse_on_loop)
        raw_rate, rate = fetched / raw_seconds, messages / ingest_seconds
        print(f"mailbox: {fetched} mails, {size / 1e6:.1f} MB, batch {batch} (one transaction per batch)")
        print(f"raw fetch (same client, no processing): {raw_rate:8.1f} mails/s  ({raw_seconds:.2f} s)")
        print(f"ingest (parse, store files, ticket, message, ack, \\Seen): {rate:8.1f} mails/s  "
              f"({ingest_seconds:.2f} s, {messages} messages, {files} attachments)")
        where = "parsing on the loop" if parse_on_loop else "parsing in a thread"
        print(f"event loop's longest stall during ingest ({where}): {stall * 1000:.0f} ms")
        print(f"ingest / raw: {rate / raw_rate:.2f}  (aim >= 0.25)")
    finally:
        await server.stop()
        await asyncio.to_thread(pg.stop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--parse-on-loop", action="store_true", help="parse on the event loop (to compare)")
    args = parser.parse_args()
    asyncio.run(main(args.mails, args.batch, args.parse_on_loop))
