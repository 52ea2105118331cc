"""A thin IMAP session over aioimaplib: connect (SSL, STARTTLS, plain), select, list new UIDs,
fetch, set \\Seen, and wait for news with IDLE when offered (a plain sleep otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib

from core.mail.tls import tls_context

T = TypeVar("T")

_FETCH_HEAD = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_NEWS = re.compile(rb"^\* \d+ (EXISTS|RECENT)\b", re.IGNORECASE)


class ImapError(Exception):
    """The server refused a command or the connection broke."""


class LoginFailed(ImapError):
    pass


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    user: str
    password: str
    security: str = "ssl"
    folder: str = "INBOX"
    timeout: float = 30.0
    ca_file: str | None = None  # trusted besides the system's CAs (a private mail server)

    @property
    def mailbox(self) -> str:
        return f"{self.user}@{self.host}/{self.folder}".lower()[:255]


class ImapSession:
    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self.client: aioimaplib.IMAP4 | None = None
        self.uidvalidity = 0
        self.lost = asyncio.Event()
        self.wakeup = asyncio.Event()  # set to end a wait early (shutting down), not an error
        # The server said the mailbox grew (untagged EXISTS/RECENT) since the last UID SEARCH. It may
        # say so in the answer to any command, or between commands, and aioimaplib drops such lines
        # outside IDLE; without this flag a mail that arrives mid-batch waits a whole poll interval.
        self.news = asyncio.Event()

    @property
    def idle_supported(self) -> bool:
        return self.client is not None and self.client.has_capability("IDLE")

    async def open(self) -> None:
        cfg = self.config
        lost = self.lost
        if cfg.security == "ssl":
            self.client = aioimaplib.IMAP4_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                               ssl_context=tls_context(cfg.ca_file))
            self.client.protocol.conn_lost_cb = lambda _exc: lost.set()
        else:
            self.client = aioimaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout,
                                           conn_lost_cb=lambda _exc: lost.set())
        _watch_for_news(self.client.protocol, self.news)
        await self.client.wait_hello_from_server()
        if cfg.security == "starttls":
            await self._starttls()
        response = await self.client.login(cfg.user, cfg.password)
        if response.result != "OK":
            raise LoginFailed(_text(response.lines) or "login refused")
        folder = f'"{cfg.folder}"' if " " in cfg.folder and not cfg.folder.startswith('"') else cfg.folder
        response = await self.client.select(folder)
        if response.result != "OK":
            raise ImapError(f"cannot select {cfg.folder}: {_text(response.lines)}")
        found = next((m for line in response.lines if (m := _UIDVALIDITY.search(bytes(line)))), None)
        self.uidvalidity = int(found.group(1)) if found else 0

    async def _starttls(self) -> None:
        assert self.client is not None
        protocol = self.client.protocol
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        response = await asyncio.wait_for(protocol.execute(command), self.config.timeout)
        if response.result != "OK":
            raise ImapError(f"STARTTLS refused: {_text(response.lines)}")
        loop = asyncio.get_running_loop()
        transport = await loop.start_tls(protocol.transport, protocol, tls_context(self.config.ca_file),
                                         server_hostname=self.config.host)
        protocol.transport = transport
        await asyncio.wait_for(protocol.capability(), self.config.timeout)

    async def new_uids(self, after_uid: int) -> list[int]:
        """UIDs above `after_uid` (a `n:*` range also answers the last mail when none is newer).
        News announced from here on may be newer than this answer, so it counts again."""
        self.news.clear()
        response = await self._search(f"UID {after_uid + 1}:*")
        return sorted(uid for uid in _numbers(response.lines) if uid > after_uid)

    async def unseen_uids(self) -> list[int]:
        return sorted(_numbers((await self._search("UNSEEN")).lines))

    async def sizes(self, uids: list[int]) -> dict[int, int]:
        if not uids:
            return {}
        response = await self._uid("fetch", _set(uids), "(UID RFC822.SIZE)")
        sizes: dict[int, int] = {}
        for line in response.lines:
            data = bytes(line)
            uid, size = _UID.search(data), _SIZE.search(data)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    async def fetch(self, uids: list[int], part: str = "BODY.PEEK[]") -> dict[int, bytes]:
        """uid -> the literal of `part` (whole mail by default; `BODY.PEEK[HEADER]` for headers)."""
        if not uids:
            return {}
        return parse_fetch((await self._uid("fetch", _set(uids), f"(UID {part})")).lines)

    async def mark_seen(self, uids: list[int]) -> None:
        if uids:
            await self._uid("store", _set(uids), "+FLAGS.SILENT (\\Seen)")

    async def wait_for_news(self, seconds: float) -> None:
        """Return when the server announces new mail (IDLE, or already before it), after `seconds`,
        or raise when the connection is lost."""
        assert self.client is not None
        if self.news.is_set():  # announced while a batch was handled: look again at once
            return
        if not self.idle_supported:
            await _first(asyncio.sleep(seconds), self.lost.wait(), self.wakeup.wait())
            self._check_alive()
            return
        starting = await _first(self.client.idle_start(timeout=seconds), self.lost.wait(),
                                asyncio.sleep(self.config.timeout))
        if starting is None:  # the connection dropped as IDLE went out, or no answer came
            self._check_alive()
            raise ImapError("IDLE was not acknowledged")
        idle = starting.result()
        try:
            while self.client.has_pending_idle() and not self.lost.is_set() and not self.wakeup.is_set():
                push = await _first(self.client.wait_server_push(seconds + self.config.timeout), self.lost.wait(),
                                    self.wakeup.wait())
                if push is None:
                    break
                lines = push.result()
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH or any(b"EXISTS" in bytes(x) for x in lines):
                    break
        finally:
            if self.client.has_pending_idle() and not self.lost.is_set():
                self.client.idle_done()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(idle, self.config.timeout)
            elif not idle.done():
                idle.cancel()
        self._check_alive()

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            if not self.lost.is_set():
                await asyncio.wait_for(client.logout(), 2.0)
        with contextlib.suppress(Exception):
            if client.protocol.transport is not None:
                client.protocol.transport.close()

    async def _answer(self, command: Awaitable[aioimaplib.Response]) -> aioimaplib.Response:
        """A command's answer; ImapError as soon as the connection drops (not at the timeout), and
        TimeoutError when no answer comes in time."""
        silent = f"no answer from the IMAP server within {self.config.timeout} s"
        done = await _first(command, self.lost.wait(), asyncio.sleep(self.config.timeout))
        if done is None:
            self._check_alive()  # the connection dropped: ImapError
            raise TimeoutError(silent)
        try:
            return done.result()
        except aioimaplib.CommandTimeout as exc:  # aioimaplib's own clock ran out first
            raise TimeoutError(silent) from exc

    def _check_alive(self) -> None:
        if self.lost.is_set():
            raise ImapError("connection lost")

    async def _search(self, criteria: str) -> aioimaplib.Response:
        assert self.client is not None
        self._check_alive()
        try:
            response = await self._answer(self.client.uid_search(criteria, charset=None))
        except aioimaplib.Abort as exc:
            raise ImapError(str(exc)) from exc
        if response.result != "OK":
            raise ImapError(f"UID SEARCH failed: {_text(response.lines)}")
        return response

    async def _uid(self, command: str, *args: str) -> aioimaplib.Response:
        assert self.client is not None
        self._check_alive()
        try:
            response = await self._answer(self.client.uid(command, *args))
        except aioimaplib.Abort as exc:
            raise ImapError(str(exc)) from exc
        if response.result != "OK":
            raise ImapError(f"UID {command.upper()} failed: {_text(response.lines)}")
        return response


async def _first(first: Awaitable[T], *others: Awaitable[object]) -> asyncio.Future[T] | None:
    """Wait until one of these finishes; cancel the rest and let them stop. The first one's future
    when it finished (its result or error is the caller's), else None."""
    tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(first), *(asyncio.ensure_future(w) for w in others)]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return tasks[0] if tasks[0].done() and not tasks[0].cancelled() else None


def _watch_for_news(protocol: aioimaplib.IMAP4ClientProtocol, news: asyncio.Event) -> None:
    """Every untagged line goes through `_untagged_response` (inside a command's answer, between
    commands, during IDLE); set `news` on EXISTS or RECENT before aioimaplib files or drops it.
    aioimaplib has no public hook for this, so a release that renames the method fails here loudly."""
    untagged = protocol._untagged_response

    def watched(line: bytes) -> Any:
        if _NEWS.match(line):
            news.set()
        return untagged(line)

    setattr(protocol, "_untagged_response", watched)  # noqa: B010 - an instance attribute, on purpose


def parse_fetch(lines: list[bytes | bytearray]) -> dict[int, bytes]:
    """aioimaplib gives `N FETCH (... {size}`, then the literal, then the closing line."""
    found: dict[int, bytes] = {}
    pending_uid: int | None = None
    literal: bytes | None = None
    for line in lines:
        if isinstance(line, bytearray):
            literal = bytes(line)
            if pending_uid is not None:
                found[pending_uid] = literal
                literal = None
            continue
        uid = _UID.search(line)
        if _FETCH_HEAD.match(line):
            pending_uid = int(uid.group(1)) if uid else None
            literal = None
        elif uid and literal is not None:  # the UID came after the literal
            found[int(uid.group(1))] = literal
            literal = None
    return found


def _numbers(lines: list[bytes | bytearray]) -> list[int]:
    numbers: list[int] = []
    for line in lines:
        parts = bytes(line).removeprefix(b"SEARCH").split()
        if parts and all(part.isdigit() for part in parts):  # not "2 EXISTS" pushed in between
            numbers.extend(int(part) for part in parts)
    return numbers


def _set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _text(lines: list[bytes | bytearray]) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in lines)[:300]
