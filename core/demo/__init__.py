"""`desk demo`: fill an empty desk with a believable shop in English and Russian, so every role can
be tried in the sandbox within minutes. Idempotent: everything it makes has a stable key (article
slugs `demo-*`, the sandbox people's fixed Telegram ids, the operator's e-mail, the store the demo
partner joined), so a second run finds the first one's data and adds nothing. It refuses a desk that
has data of its own (tickets, contacts or articles it did not make) unless forced."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.demo import cast, shop
from core.demo.articles import ARTICLES, PREFIX
from core.demo.tickets import has_tickets, write_tickets
from core.errors import Conflict
from core.i18n import N_, Translator
from core.kb import vocabulary
from core.kb.articles import upsert_article
from core.models import Article, Contact, ContactIdentity, Operator, Ticket
from core.services.conversations import queue_by_slug
from core.services.operators import create_operator
from core.sla import hours
from core.storage import AttachmentStore

NOT_EMPTY = N_("This desk already has data of its own (tickets: {tickets}, contacts: {contacts}, articles: "
               "{articles}); the demo fills only an empty desk. Run it with --force to add the demo beside it.")
# Two of the topics customers pick at the handoff, with a working week (Moscow time).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
HOURS = {
    "logistics": {day: [["09:00", "20:00"]] for day in WEEKDAYS} | {"sat": [["10:00", "18:00"]]},
    "billing": {day: [["09:00", "18:00"]] for day in WEEKDAYS},
}


@dataclass(frozen=True)
class Demo:
    """What the demo desk holds after a run, and the operator's password when this run made the account."""

    articles: int
    queues: tuple[str, ...]
    store: str
    products: int
    partner: str
    tickets: int
    orders: int
    operator_email: str
    operator_password: str | None


async def fill_demo(session: AsyncSession, storage: AttachmentStore, translator: Translator, *, language: str,
                    force: bool = False) -> Demo:
    """Runs in the caller's transaction; the sandbox people are the caller's to save
    (`cast.sandbox_users`), before it commits, so the bot can write to them at once."""
    if not force:
        await _refuse_real_data(session)
    await _articles(session)
    queues = tuple([await _with_hours(session, slug) for slug in HOURS])
    operator, password = await _operator(session, language)
    store, _ = await shop.open_store(session, storage, language)
    if not await has_tickets(session, await _demo_contacts(session)):
        await write_tickets(session, operator)
    orders = await shop.place_orders(session, translator, store)
    tickets = await session.scalar(select(func.count()).select_from(Ticket)
                                   .where(Ticket.contact_id.in_(await _demo_contacts(session))))
    return Demo(articles=len(ARTICLES), queues=queues, store=store.name, products=len(shop.CATALOGUE),
                partner=cast.partner(language).first_name, tickets=int(tickets or 0), orders=orders,
                operator_email=operator.email, operator_password=password)


async def _articles(session: AsyncSession) -> None:
    """The articles not there yet (one an admin has edited since the first run stays as edited)."""
    there = set(await session.scalars(select(Article.slug).where(Article.slug.like(PREFIX + "%"))))
    missing = [article for article in ARTICLES if article.slug not in there]
    for article in missing:
        await upsert_article(session, article, refresh=False)
    if missing:
        await vocabulary.rebuild(session)


async def _refuse_real_data(session: AsyncSession) -> None:
    demo = await _demo_contacts(session)
    contacts = await session.scalar(select(func.count()).select_from(Contact).where(Contact.id.not_in(demo)))
    tickets = await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.contact_id.not_in(demo)))
    articles = await session.scalar(select(func.count()).select_from(Article)
                                    .where(Article.slug.not_like(PREFIX + "%")))
    if contacts or tickets or articles:
        raise Conflict(NOT_EMPTY, tickets=int(tickets or 0), contacts=int(contacts or 0), articles=int(articles or 0))


async def _demo_contacts(session: AsyncSession) -> list[int]:
    query = select(ContactIdentity.contact_id).where(ContactIdentity.channel == "telegram",
                                                     ContactIdentity.external_id.in_(cast.external_ids()))
    return sorted(set(await session.scalars(query)))


async def _with_hours(session: AsyncSession, slug: str) -> str:
    queue = await queue_by_slug(session, slug)
    if await hours.get_hours(session, queue.id) is None:
        await hours.set_hours(session, queue.id, time_zone="Europe/Moscow", weekly=HOURS[slug], actor_id=None)
    return queue.name


async def _operator(session: AsyncSession, language: str) -> tuple[Operator, str | None]:
    found = await session.scalar(select(Operator).where(Operator.email == cast.OPERATOR_EMAIL))
    if found is not None:
        return found, None
    password = secrets.token_urlsafe(12)
    operator = await create_operator(session, email=cast.OPERATOR_EMAIL, password=password, role="operator",
                                     display_name="Kate" if language == "en" else "Катя", language=language)
    return operator, password
