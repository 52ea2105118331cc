"""The intake loop: hold the mailbox lock, connect, ingest what is new, wait (IDLE or poll), and on
any outage log once, show it in the component state and retry with backoff.

Exactly once: each mail is committed with its Message-ID claim (unique per mailbox) in one transaction;
the mailbox's last UID advances after a whole batch is committed, and \\Seen is set only after that.
A process killed anywhere leaves either nothing (the mail is fetched again) or a committed mail whose
Message-ID makes the second pass a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import Translator
from core.mail import state
from core.mail.files import store_files
from core.mail.imap import ImapConfig, ImapError, ImapSession, LoginFailed
from core.mail.intake import IntakeOptions, Unusable, claim_message_id, ingest_mail
from core.mail.lock import MailboxLock
from core.mail.parse import ParsedMail, parse_mail
from core.mail.quarantine import Setaside, quarantine
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
    batch: int = 25
    concurrency: int = 1
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
        for start in range(0, len(uids), self.batch):
            await self._batch(imap, uids[start : start + self.batch])
        if everything:
            async with self.sessions() as session, session.begin():
                await state.advance(session, self.mailbox, imap.uidvalidity, max(everything))
        return len(uids)

    async def _batch(self, imap: ImapSession, uids: list[int]) -> None:
        """Mails of different senders are stored concurrently (they can never thread onto each
        other's tickets); one sender's mails go in UID order. The position advances once the whole
        batch is committed, so a crash inside it only means fetching it again."""
        sizes = await imap.sizes(uids)
        small = [uid for uid in uids if sizes.get(uid, 0) <= self.max_bytes]
        bodies = await imap.fetch(small)
        heads = await imap.fetch([uid for uid in uids if uid not in bodies and uid in sizes], "BODY.PEEK[HEADER]")
        lanes: dict[str, list[Callable[[], Awaitable[None]]]] = {}
        for uid in uids:
            if uid in bodies:
                raw = bodies[uid]
                mail = _parse_or_error(raw)
                key = mail.address if isinstance(mail, ParsedMail) and mail.address else f"#{uid}"
                lanes.setdefault(key, []).append(partial(self._ingest, imap.uidvalidity, uid, raw, mail))
            elif uid in heads:
                lanes.setdefault(f"#{uid}", []).append(
                    partial(self._too_large, imap.uidvalidity, uid, heads[uid], sizes[uid]))
        slots = asyncio.Semaphore(self.concurrency)

        async def lane(steps: list[Callable[[], Awaitable[None]]]) -> None:
            for step in steps:
                async with slots:
                    await step()

        results = await asyncio.gather(*(lane(steps) for steps in lanes.values()), return_exceptions=True)
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            raise failure
        async with self.sessions() as session, session.begin():
            await state.advance(session, self.mailbox, imap.uidvalidity, max(uids))
        await imap.mark_seen(uids)

    async def _ingest(self, uidvalidity: int, uid: int, raw: bytes, mail: ParsedMail | Exception) -> None:
        if isinstance(mail, Exception):
            await self._set_aside(uidvalidity, uid, raw, "unparseable", f"{type(mail).__name__}: {mail}", None)
            return
        try:
            files = await store_files(self.storage, mail)
            async with self.sessions() as session, session.begin():
                result = await ingest_mail(session, self.translator, mail, files, self.options, uid)
        except Unusable as exc:
            await self._set_aside(uidvalidity, uid, raw, exc.reason, exc.detail, mail)
            return
        except (OSError, *_DATABASE_DOWN):
            raise
        except Exception as exc:
            log.exception("mail could not be stored", extra={"mailbox": self.mailbox, "uid": uid})
            await self._set_aside(uidvalidity, uid, raw, "error", f"{type(exc).__name__}: {exc}", mail)
            return
        self.ingested += 1
        log.info("mail ingested", extra={"mailbox": self.mailbox, "uid": uid, "ticket": result.ticket_id,
                                         "outcome": result.outcome, "acknowledged": result.acknowledged})

    async def _too_large(self, uidvalidity: int, uid: int, head: bytes, size: int) -> None:
        try:
            mail: ParsedMail | None = parse_mail(head)
        except Exception:
            mail = None
        detail = f"{size} bytes, limit {self.max_bytes}"
        await self._set_aside(uidvalidity, uid, None, "too_large", detail, mail, size)

    async def _set_aside(
        self, uidvalidity: int, uid: int, raw: bytes | None, reason: str, detail: str, mail: ParsedMail | None,
        size: int | None = None,
    ) -> None:
        raw_key = None
        if raw is not None:
            try:
                saved = await self.storage.save(raw, f"mail-{uid}.eml", "message/rfc822")
                raw_key = saved.storage_key
            except Exception:
                raw_key = None
        async with self.sessions() as session, session.begin():
            rfc_id = mail.message_id if mail else None
            claimed = mail is None or await claim_message_id(session, self.mailbox, mail.message_id,
                                                             mail.fingerprint, uid, mail.address)
            if claimed:
                await quarantine(session, Setaside(
                    mailbox=self.mailbox, uid=uid, uidvalidity=uidvalidity, reason=reason, detail=detail,
                    rfc_message_id=rfc_id, sender=mail.address if mail else "", subject=mail.subject if mail else "",
                    size=size if size is not None else len(raw or b""), raw_storage_key=raw_key,
                ))
        self.quarantined += 1
        log.warning("mail quarantined", extra={"mailbox": self.mailbox, "uid": uid, "reason": reason})

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


def _parse_or_error(raw: bytes) -> ParsedMail | Exception:
    try:
        return parse_mail(raw)
    except Exception as exc:
        return exc
