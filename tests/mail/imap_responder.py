"""A scripted IMAP server on loopback for what pymap will not do on request: announce new mail
(`* N EXISTS`) only inside the answer to a chosen command, and never during IDLE. Enough of IMAP4rev1
for the poller: CAPABILITY (with IDLE), LOGIN, SELECT, UID SEARCH, UID FETCH, UID STORE, NOOP, IDLE,
LOGOUT."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

_RANGE = re.compile(r"UID (\d+):\*")


class ScriptedImap:
    """`on_command(verb, mails)` runs before each UID command is answered (verb: "FETCH", "STORE",
    "SEARCH"); mails it appends are announced in that command's answer only if `announce_in`
    names the verb, otherwise never (not during IDLE either)."""

    def __init__(self, announce_in: str = "STORE") -> None:
        self.mails: list[bytes] = []
        self.seen: set[int] = set()
        self.announce_in = announce_in
        self.on_command: Callable[[str, list[bytes]], None] = lambda _verb, _mails: None
        self.idles = 0
        self.port = 0
        self._known = 0  # how many mails the client was told of
        self._server: asyncio.AbstractServer | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        writer.write(b"* OK IMAP4rev1 scripted\r\n")
        while line := await reader.readline():
            tag, _, command = line.decode().strip().partition(" ")
            words = command.split(" ")
            verb = words[0].upper()
            if verb == "UID":
                writer.write(self._uid(tag, words[1].upper(), " ".join(words[2:])))
            elif verb == "IDLE":
                self.idles += 1
                writer.write(b"+ idling\r\n")
                await writer.drain()
                await reader.readline()  # DONE; nothing is announced while idling
                writer.write(f"{tag} OK IDLE terminated\r\n".encode())
            else:
                writer.write(self._simple(tag, verb))
            await writer.drain()
            if verb == "LOGOUT":
                writer.close()
                return

    def _simple(self, tag: str, verb: str) -> bytes:
        if verb == "CAPABILITY":
            return f"* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n".encode()
        if verb == "SELECT":
            self._known = len(self.mails)
            return (f"* {self._known} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n"
                    f"{tag} OK [READ-WRITE] selected\r\n").encode()
        if verb == "LOGOUT":
            return f"* BYE bye\r\n{tag} OK bye\r\n".encode()
        return f"{tag} OK done\r\n".encode()  # LOGIN, NOOP

    def _uid(self, tag: str, verb: str, args: str) -> bytes:
        self.on_command(verb, self.mails)
        if verb == "SEARCH":
            body = self._search(args)
        elif verb == "FETCH":
            body = self._fetch(args)
        else:
            self.seen.update(int(uid) for uid in args.split(" ")[0].split(","))
            body = b""
        if verb == self.announce_in and len(self.mails) > self._known:
            self._known = len(self.mails)
            body += f"* {self._known} EXISTS\r\n".encode()
        return body + f"{tag} OK UID {verb} done\r\n".encode()

    def _search(self, criteria: str) -> bytes:
        every = range(1, len(self.mails) + 1)
        if "UNSEEN" in criteria.upper():
            found = [uid for uid in every if uid not in self.seen]
        else:
            low = int(m.group(1)) if (m := _RANGE.search(criteria)) else 1
            found = [uid for uid in every if uid >= min(low, len(self.mails))]
        return ("* SEARCH " + " ".join(map(str, found))).rstrip().encode() + b"\r\n"

    def _fetch(self, args: str) -> bytes:
        uids, _, items = args.partition(" ")
        out = b""
        for uid in (int(u) for u in uids.split(",")):
            raw = self.mails[uid - 1]
            if "RFC822.SIZE" in items:
                out += f"* {uid} FETCH (UID {uid} RFC822.SIZE {len(raw)})\r\n".encode()
            else:
                out += f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n"
        return out
