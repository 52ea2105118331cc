"""The intake loop: hold the mailbox lock, connect, ingest what is new, wait (IDLE or poll), and on
any outage log once, show it in the component state and retry with backoff.

Group commits, exactly once: a fetched batch is stored in groups, one transaction each; each mail with
its Message-ID claim (unique per mailbox) in a savepoint of its own, and the mailbox's last UID advanced
to the group's last UID in the same transaction. \\Seen is set only after the batch is committed.
A process killed anywhere leaves either nothing of a group (it is fetched again) or the whole group
with its position, and a committed mail's Message-ID makes any second pass a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import Translator
from core.mail import state
from core.mail.files import store_files
from core.mail.imap import ImapConfig, ImapError, ImapSession, LoginFailed
from core.mail.intake import IntakeOptions, IntakeResult, KnownIds, Unusable, claim_message_id, ingest_mail
from core.mail.lock import MailboxLock
from core.mail.parse import ParsedMail, parse_mail
from core.mail.quarantine import Setaside, quarantine
from core.services.conversations import NewAttachment
from core.storage import AttachmentStore

log = logging.getLogger(__name__)
COMPONENT = "mail"
_DATABASE_DOWN = (OperationalError, InterfaceError)


@dataclass
class MailPoller:
    sessions: async_sessionmaker[AsyncSession]
    dsn: str
    storage: AttachmentStore
    translator: Translator
    imap: ImapConfig
    options: IntakeOptions
    poll_seconds: float = 30.0
    max_bytes: int = 25 * 1024 * 1024
    retry_base: float = 1.0
    retry_max: float = 300.0
    batch: int = 25  # mails fetched at once, and at most this many stored in one transaction
    group_bytes: int = 16 * 1024 * 1024  # about this much mail per transaction (one larger mail goes alone)
    # A transaction that has written holds back every live event of the desk until it ends (core/events.py:
    # the horizon), so a group also ends once it has run this long (after at least one mail).
    group_seconds: float = 0.25
    parse_off_loop: bool = True  # parse in a worker thread (False: on the event loop, for comparison)
    status: MutableMapping[str, str] = field(default_factory=dict)
    ingested: int = 0
    quarantined: int = 0
    _failures: int = 0
    _stopping: bool = False
    _session: ImapSession | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def mailbox(self) -> str:
        return self.options.mailbox

    async def run(self) -> None:
        self.status[COMPONENT] = "starting"
        while not self._stopping:
            try:
                async with MailboxLock(self.dsn, self.mailbox) as lock:
                    if lock.held:
                        await self._serve(lock)
                    else:
                        self._set_state("standby")
                        await self._pause(self.poll_seconds)
                        continue
            except LoginFailed as exc:
                self._failed("login_failed", exc)
            except (ImapError, OSError, TimeoutError, DBAPIError, *_DATABASE_DOWN) as exc:
                self._failed("down", exc)
            except Exception as exc:
                log.exception("mail intake failed", extra={"mailbox": self.mailbox})
                self._failed("down", exc)
            if not self._stopping:
                await self._pause(self._backoff())

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._session is not None:  # ends a wait for news; a batch in progress finishes first
            self._session.wakeup.set()

    async def _serve(self, lock: MailboxLock) -> None:
        imap = ImapSession(self.imap)
        self._session = imap
        try:
            await imap.open()
            self._failures = 0
            self._set_state("ok")
            await self._reconcile(imap)
            while not self._stopping:
                await self.sync(imap)
                await lock.check()
                await imap.wait_for_news(self.poll_seconds)
        finally:
            self._session = None
            await imap.close()

    async def _reconcile(self, imap: ImapSession) -> None:
        """Mails committed before a crash but never flagged: flag them now."""
        async with self.sessions() as session:
            where = await state.position(session, self.mailbox)
        if where is None or where.uidvalidity != imap.uidvalidity:
            return
        await imap.mark_seen([uid for uid in await imap.unseen_uids() if uid <= where.last_uid])

    async def sync(self, imap: ImapSession) -> int:
        """Ingest every mail newer than the committed position; returns how many were handled."""
        async with self.sessions() as session, session.begin():
            where = await state.position(session, self.mailbox)
            fresh = where is None or where.uidvalidity != imap.uidvalidity
            if fresh:
                await state.start_over(session, self.mailbox, imap.uidvalidity)
        if fresh:  # first sight (or UIDVALIDITY changed): unread mail is new, read mail is history
            everything = await imap.new_uids(0)
            uids = await imap.unseen_uids()
        else:
            assert where is not None
            everything, uids = [], await imap.new_uids(where.last_uid)
        await self._pipeline(imap, [uids[start : start + self.batch] for start in range(0, len(uids), self.batch)])
        if everything:
            async with self.sessions() as session, session.begin():
                await state.advance(session, self.mailbox, imap.uidvalidity, max(everything))
        return len(uids)

    async def _pipeline(self, imap: ImapSession, batches: list[list[int]]) -> None:
        """Batch after batch in UID order: while one batch is written to the database, the next one is
        already fetched and being parsed (in a worker thread) and its files stored, so the parser's CPU
        and the database's round trips overlap. The IMAP connection is used by one command at a time:
        the next batch is fetched before this one's \\Seen is set."""
        if not batches:
            return
        ahead = asyncio.create_task(self._prepare_batch(imap.uidvalidity, await self._fetch(imap, batches[0])))
        try:
            for number, uids in enumerate(batches):
                groups = await ahead
                if number + 1 < len(batches):
                    fetched = await self._fetch(imap, batches[number + 1])
                    ahead = asyncio.create_task(self._prepare_batch(imap.uidvalidity, fetched))
                for last_uid, entries in groups:
                    await self._commit_group(imap.uidvalidity, last_uid, entries)
                await imap.mark_seen(uids)
        finally:
            if not ahead.done():  # a failure on the way: the prepared batch is fetched again next time
                ahead.cancel()
            await asyncio.gather(ahead, return_exceptions=True)

    async def _fetch(self, imap: ImapSession, uids: list[int]) -> _Fetched:
        sizes = await imap.sizes(uids)
        small = [uid for uid in uids if sizes.get(uid, 0) <= self.max_bytes]
        bodies = await imap.fetch(small)
        heads = await imap.fetch([uid for uid in uids if uid not in bodies and uid in sizes], "BODY.PEEK[HEADER]")
        return _Fetched(uids, sizes, bodies, heads)

    async def _prepare_batch(self, uidvalidity: int, fetched: _Fetched) -> list[tuple[int, list[_Entry]]]:
        """The batch parsed off the event loop and cut into groups, one transaction each (at most
        `batch` mails and about `group_bytes` of them): (the group's last UID, its mails)."""
        parsed = await asyncio.to_thread(_parse_all, fetched.bodies) if self.parse_off_loop else _parse_all(
            fetched.bodies)
        groups = []
        for group in _groups(fetched.uids, fetched.bodies, self.group_bytes):
            entries = [await self._prepare(uidvalidity, uid, fetched, parsed) for uid in group]
            groups.append((max(group), [entry for entry in entries if entry is not None]))
        return groups

    async def _prepare(
        self, uidvalidity: int, uid: int, fetched: _Fetched, parsed: dict[int, ParsedMail | Exception],
    ) -> _Entry | None:
        """What the group's transaction needs for one mail, its files already in the store (a store
        keeps files by hash, so a group that is fetched again saves none twice). None for a mail
        that vanished between the search and the fetch."""
        bodies, heads, sizes = fetched.bodies, fetched.heads, fetched.sizes
        if uid in bodies:
            raw, mail = bodies[uid], parsed[uid]
            if isinstance(mail, Exception):
                return _Entry(uid, raw, None, (), ("unparseable", f"{type(mail).__name__}: {mail}"))
            try:
                files = await store_files(self.storage, mail)
            except (OSError, *_DATABASE_DOWN):
                raise
            except Exception as exc:
                log.exception("mail files could not be stored", extra={"mailbox": self.mailbox, "uid": uid})
                return _Entry(uid, raw, mail, (), ("error", f"{type(exc).__name__}: {exc}"))
            return _Entry(uid, raw, mail, files)
        if uid in heads:
            try:
                head: ParsedMail | None = await asyncio.to_thread(parse_mail, heads[uid])
            except Exception:
                head = None
            return _Entry(uid, None, head, (), ("too_large", f"{sizes[uid]} bytes, limit {self.max_bytes}"), sizes[uid])
        return None

    async def _commit_group(self, uidvalidity: int, last_uid: int, entries: list[_Entry]) -> None:
        """The group in as few transactions as `group_seconds` allows (one, unless the database is slow)."""
        rest = entries
        while True:
            done, rest = await self._commit_part(uidvalidity, last_uid, rest)
            for entry, result, reason in done:  # told only once it is committed
                if result is not None:
                    self.ingested += 1
                    log.info("mail ingested", extra={
                        "mailbox": self.mailbox, "uid": entry.uid, "ticket": result.ticket_id,
                        "outcome": result.outcome, "acknowledged": result.acknowledged})
                else:
                    self.quarantined += 1
                    log.warning("mail quarantined", extra={"mailbox": self.mailbox, "uid": entry.uid,
                                                           "reason": reason})
            if not rest:
                return

    async def _commit_part(
        self, uidvalidity: int, last_uid: int, entries: list[_Entry],
    ) -> tuple[list[tuple[_Entry, IntakeResult | None, str | None]], list[_Entry]]:
        """One transaction: mail after mail, each in a savepoint of its own (a mail that fails for its own
        reasons is rolled back alone and set aside; the others commit), until the group is done or the
        transaction has run `group_seconds`; then the position, up to the last mail written (UIDs are in
        order). The database going away mid-way rolls the whole transaction back. Returns what was
        written and the mails left for the next transaction."""
        done: list[tuple[_Entry, IntakeResult | None, str | None]] = []
        began = time.monotonic()
        async with self.sessions() as session, session.begin():
            known = await KnownIds.load(session, self.mailbox, [e.mail.message_id for e in entries if e.mail])
            for entry in entries:
                outcome = entry.problem or await self._ingest(session, known, entry)
                if isinstance(outcome, IntakeResult):
                    done.append((entry, outcome, None))
                else:
                    await self._set_aside(session, known, uidvalidity, entry, *outcome)
                    done.append((entry, None, outcome[0]))
                if time.monotonic() - began >= self.group_seconds:
                    break
            rest = entries[len(done):]
            await state.advance(session, self.mailbox, uidvalidity, done[-1][0].uid if rest else last_uid)
        return done, rest

    async def _ingest(self, session: AsyncSession, known: KnownIds, entry: _Entry) -> IntakeResult | tuple[str, str]:
        """The mail through the one intake path, in a savepoint; (reason, detail) when it cannot go in."""
        mail = entry.mail
        assert mail is not None
        before = known.earlier(mail.message_id)
        try:
            async with session.begin_nested():
                return await ingest_mail(session, self.translator, mail, entry.files, self.options, entry.uid, known)
        except Unusable as exc:
            problem = (exc.reason, exc.detail)
        except (OSError, *_DATABASE_DOWN):
            raise
        except Exception as exc:
            log.exception("mail could not be stored", extra={"mailbox": self.mailbox, "uid": entry.uid})
            problem = ("error", f"{type(exc).__name__}: {exc}")
        known.restore(mail.message_id, before)
        return problem

    async def _set_aside(
        self, session: AsyncSession, known: KnownIds, uidvalidity: int, entry: _Entry, reason: str, detail: str,
    ) -> None:
        """Quarantine the mail in the group's transaction, claiming its Message-ID (a mail set aside
        is not taken again from the mailbox; an admin may retry it)."""
        raw_key = None
        if entry.raw is not None:
            try:
                saved = await self.storage.save(entry.raw, f"mail-{entry.uid}.eml", "message/rfc822")
                raw_key = saved.storage_key
            except Exception:
                raw_key = None
        mail = entry.mail
        async with session.begin_nested():
            claimed = mail is None or await claim_message_id(session, self.mailbox, mail.message_id,
                                                             mail.fingerprint, entry.uid, mail.address, known)
            if claimed:
                await quarantine(session, Setaside(
                    mailbox=self.mailbox, uid=entry.uid, uidvalidity=uidvalidity, reason=reason, detail=detail,
                    rfc_message_id=mail.message_id if mail else None, sender=mail.address if mail else "",
                    subject=mail.subject if mail else "",
                    size=entry.size if entry.size is not None else len(entry.raw or b""), raw_storage_key=raw_key,
                ))

    def _failed(self, new_state: str, exc: BaseException) -> None:
        if self._stopping:
            return
        self._failures += 1
        if self.status.get(COMPONENT) != new_state:
            log.warning("mail intake %s", new_state, extra={"mailbox": self.mailbox, "error": str(exc)[:300]})
        else:
            log.debug("mail intake still %s", new_state, extra={"mailbox": self.mailbox, "error": str(exc)[:300]})
        self.status[COMPONENT] = new_state

    def _set_state(self, new_state: str) -> None:
        previous = self.status.get(COMPONENT)
        if previous in ("down", "login_failed") and new_state == "ok":
            log.info("mail intake restored", extra={"mailbox": self.mailbox})
        self.status[COMPONENT] = new_state

    def _backoff(self) -> float:
        ceiling = min(self.retry_max, self.retry_base * 2 ** max(self._failures - 1, 0))
        return random.uniform(ceiling / 2, ceiling)

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


@dataclass(frozen=True)
class _Fetched:
    """A batch as the server gave it: its UIDs, their sizes, whole mails, and headers of those too large."""

    uids: list[int]
    sizes: dict[int, int]
    bodies: dict[int, bytes]
    heads: dict[int, bytes]


@dataclass(frozen=True)
class _Entry:
    """One fetched mail of a group: its bytes, its parse, its stored files, or why it cannot go in."""

    uid: int
    raw: bytes | None  # None for a mail too large to fetch (only its header was)
    mail: ParsedMail | None
    files: tuple[NewAttachment, ...]
    problem: tuple[str, str] | None = None  # (reason, detail) known before the database is asked
    size: int | None = None


def _parse_all(bodies: dict[int, bytes]) -> dict[int, ParsedMail | Exception]:
    """Run in a worker thread: parsing (MIME walk, transfer decoding, HTML to text) is the CPU-heavy
    part of intake, and the event loop serves the bot and the panel meanwhile."""
    parsed: dict[int, ParsedMail | Exception] = {}
    for uid, raw in bodies.items():
        try:
            parsed[uid] = parse_mail(raw)
        except Exception as exc:
            parsed[uid] = exc
    return parsed


def _groups(uids: list[int], bodies: dict[int, bytes], max_bytes: int) -> list[list[int]]:
    """Consecutive runs of UIDs (in order) whose fetched bytes stay within `max_bytes`; a run has at
    least one mail, so a single large mail is a group of its own."""
    groups: list[list[int]] = []
    current: list[int] = []
    size = 0
    for uid in uids:
        length = len(bodies.get(uid, b""))
        if current and size + length > max_bytes:
            groups.append(current)
            current, size = [], 0
        current.append(uid)
        size += length
    if current:
        groups.append(current)
    return groups
