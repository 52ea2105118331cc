"""The websites that embed the chat widget: several per store, or the desk's own (no store). Admins
make and change them in the panel (`/api/sites`) and with `desk site create`; the widget's endpoints
read them by key (core/services/widgets.py).

A site's visitors who are a shop's signed-in users stay store-scoped (`store:<id>:user:<uid>`): the
same user on two sites of one store is one person with one history. A site with no store scopes them
to itself (`site:<id>:user:<uid>`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import N_
from core.models import PRECHAT_MODES, Queue, Site, Store, Ticket
from core.services import audit
from core.services.widgets import look_value, new_key, new_secret, normalize_origins

NAME_LIMIT = 100
NO_QUEUE = N_("There is no queue {queue_id}.")  # the texts `desk` says too (cli/errors.py)
NO_STORE = N_("There is no store {store_id}.")


@dataclass(frozen=True)
class SiteSettings:
    """What an admin sets of a site; None leaves a value as it is (on create: the default)."""

    name: str | None = None
    origins: list[str] | None = None
    greeting: str | None = None
    color: str | None = None
    hours: str | None = None
    queue_id: int | None = None
    store_id: int | None = None
    prechat: str | None = None
    clear_queue: bool = False  # queue_id None means "unchanged": this says "no queue"
    clear_store: bool = False


async def list_sites(session: AsyncSession, store_ids: set[int] | None = None) -> list[Site]:
    """Every site (the desk's own first), or only those of `store_ids`."""
    query = select(Site).order_by(Site.store_id.nulls_first(), Site.created_at, Site.id)
    if store_ids is not None:
        query = query.where(Site.store_id.in_(store_ids))
    return list((await session.scalars(query)).all())


async def get_site(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    if site is None:
        raise NotFound("no such site", site_id=site_id)
    return site


async def find_queue(session: AsyncSession, ref: str) -> Queue:
    """A queue by id, slug or name (what an admin types after `--queue`)."""
    ref = ref.strip()
    conditions = [Queue.slug == ref, func.lower(Queue.name) == ref.lower()]
    if ref.isdigit() and len(ref) < 19:
        conditions.append(Queue.id == int(ref))
    queue = await session.scalar(select(Queue).where(or_(*conditions)).order_by(Queue.id).limit(1))
    if queue is None:
        raise InvalidInput(NO_QUEUE, field="queue_id", queue_id=ref)
    return queue


async def create_site(session: AsyncSession, settings: SiteSettings, *, actor_id: int | None = None) -> Site:
    if settings.name is None:
        raise InvalidInput(N_("a site needs a name"), field="name")
    site = Site(name="", key=new_key(), secret=new_secret(), origins=[])
    await _apply(session, site, settings)
    session.add(site)
    await session.flush()
    _audit(session, site, "site.create", actor_id)
    return site


async def update_site(session: AsyncSession, site_id: int, settings: SiteSettings, *,
                      actor_id: int | None = None) -> Site:
    site = await get_site(session, site_id)
    await _apply(session, site, settings)
    await session.flush()
    _audit(session, site, "site.update", actor_id)
    return site


async def renew_secret(session: AsyncSession, site_id: int, *, actor_id: int | None = None) -> Site:
    """The old secret stops working at once: the shop's backend must sign with the new one."""
    site = await get_site(session, site_id)
    site.secret = new_secret()
    await session.flush()
    _audit(session, site, "site.secret", actor_id)
    return site


async def delete_site(session: AsyncSession, site_id: int, *, actor_id: int | None = None) -> None:
    """Refused while tickets were started from it (the customer card names the site): an admin who
    wants it to stop takes its origins away instead."""
    site = await get_site(session, site_id)
    if await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.site_id == site_id)):
        raise Conflict(N_("tickets were started from this site: remove its origins instead"), site_id=site_id)
    _audit(session, site, "site.delete", actor_id)
    await session.delete(site)
    await session.flush()


async def _apply(session: AsyncSession, site: Site, settings: SiteSettings) -> None:
    """Validate everything first, then set: a refused change changes nothing."""
    values: dict[str, object] = {}
    if settings.name is not None:
        name = settings.name.strip()
        if not 1 <= len(name) <= NAME_LIMIT:
            raise InvalidInput(N_("a name is 1 to {limit} characters"), field="name", limit=NAME_LIMIT)
        values["name"] = name
    if settings.origins is not None:
        values["origins"] = normalize_origins(settings.origins)
    for look in ("greeting", "color", "hours"):
        value = getattr(settings, look)
        if value is not None:
            values[look] = look_value(look, value)
    if settings.prechat is not None:
        if settings.prechat not in PRECHAT_MODES:
            raise InvalidInput(N_("the pre-chat form is off, optional or required"), field="prechat")
        values["prechat"] = settings.prechat
    if settings.clear_queue:
        values["queue_id"] = None
    elif settings.queue_id is not None:
        if await session.get(Queue, settings.queue_id) is None:
            raise InvalidInput(NO_QUEUE, field="queue_id", queue_id=settings.queue_id)
        values["queue_id"] = settings.queue_id
    if settings.clear_store:
        values["store_id"] = None
    elif settings.store_id is not None:
        if await session.get(Store, settings.store_id) is None:
            raise InvalidInput(NO_STORE, field="store_id", store_id=settings.store_id)
        values["store_id"] = settings.store_id
    for name, value in values.items():
        setattr(site, name, value)


def _audit(session: AsyncSession, site: Site, action: str, actor_id: int | None) -> None:
    audit.record(session, actor_kind="operator" if actor_id else "system", actor_id=actor_id, action=action,
                 object_type="site", object_id=site.id, name=site.name, origins=list(site.origins),
                 store_id=site.store_id, queue_id=site.queue_id, prechat=site.prechat)
