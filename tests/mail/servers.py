"""Real mail servers on loopback for the tests and the benchmark: pymap (IMAP with IDLE, in memory)
and an aiosmtpd sink that records what it accepts and can be told to answer 4xx or 5xx."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from argparse import Namespace
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import aioimaplib
from aiosmtpd.smtp import SMTP, Envelope, Session
from proxyprotocol.reader import ProxyProtocolReader
from pymap.backend.dict import DictBackend
from pymap.imap import IMAPServer

USER = "support@desk.test"
PASSWORD = "secret-pass"


class ImapTestServer:
    """pymap's in-memory backend behind a loopback listener that can go away and come back on the
    same port with the same mailbox. `security`: "plain", "starttls" (pymap's own STARTTLS) or "ssl"
    (TLS from the first byte), with `tls` the server's certificate context."""

    def __init__(self, security: str = "plain", tls: ssl.SSLContext | None = None) -> None:
        self.security, self.tls = security, tls
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._callback = None

    async def start(self) -> None:
        if self._callback is None:
            args = Namespace(debug=False, demo_data=False, demo_user=USER, demo_password=PASSWORD, passlib_cfg=None,
                             proxy_protocol=None, host="127.0.0.1", port=0, cert=None, key=None, tls=False)
            extra = {"ssl_context": self.tls} if self.security == "starttls" else {}
            args.tls = self.security == "starttls"
            backend, config = await DictBackend.init(args, secure_auth=False, invalid_user_sleep=0.0, **extra)
            config.apply_context()
            self._callback = ProxyProtocolReader(config.proxy_protocol).get_callback(IMAPServer(backend.login, config))

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers = {w for w in self._writers if not w.is_closing()}
            self._writers.add(writer)  # pymap's callback may return before the connection ends
            await self._callback(reader, writer)

        self._server = await asyncio.start_server(serve, "127.0.0.1", self.port,
                                                  ssl=self.tls if self.security == "ssl" else None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """The server disappears: the listener closes and every open connection drops."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def client(self) -> aioimaplib.IMAP4:
        if self.security == "ssl":
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the test's own helper
            client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL("127.0.0.1", self.port, timeout=10, ssl_context=context)
        else:
            client = aioimaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        await client.wait_hello_from_server()
        await client.login(USER, PASSWORD)
        return client

    async def append(self, *mails: bytes) -> None:
        client = await self.client()
        try:
            for raw in mails:
                response = await client.append(raw, mailbox="INBOX")
                assert response.result == "OK", response
        finally:
            await client.logout()

    async def flags(self) -> dict[int, set[str]]:
        """uid -> flags, as any mail client would see them."""
        client = await self.client()
        try:
            await client.select("INBOX")
            response = await client.uid("fetch", "1:*", "(UID FLAGS)")
        finally:
            await client.logout()
        found: dict[int, set[str]] = {}
        for line in response.lines:
            text = bytes(line).decode()
            uid, flags = re.search(r"UID (\d+)", text), re.search(r"FLAGS \(([^)]*)\)", text)
            if uid and flags:
                found[int(uid.group(1))] = set(flags.group(1).split())
        return found


@dataclass
class SinkHandler:
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    answer: str | None = None  # e.g. "451 4.3.0 try later" or "550 5.1.1 no such user"
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.answer:
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.received.append(BytesParser(policy=policy.default).parsebytes(data))  # type: ignore[arg-type]
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        self.arrived.set()
        return "250 Message accepted"


class SmtpSink:
    """`security`: "plain", "starttls" (required before MAIL) or "ssl", with `tls` the server's context."""

    def __init__(self, security: str = "plain", tls: ssl.SSLContext | None = None) -> None:
        self.security, self.tls = security, tls
        self.handler = SinkHandler()
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        starttls = self.tls if self.security == "starttls" else None
        self._server = await loop.create_server(
            lambda: SMTP(self.handler, hostname="sink.test", auth_require_tls=False, tls_context=starttls,
                         require_starttls=starttls is not None),
            "127.0.0.1", 0, ssl=self.tls if self.security == "ssl" else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
