"""Who hears about an order change, queued in the caller's transaction: every member of the store
(their alert, sent or edited in place) and the customer (a notice in their language)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import events, outbox
from core.channels import Notice, channels_of, staff_channel_of
from core.i18n import Translator
from core.jobs.notices import send_to_customer
from core.models import Order
from core.orders import repo
from core.orders.payloads import order_payload
from core.orders.render import alert_buttons, alert_text, customer_notice
from core.orders.stores import get_store, zone_of

ALERT_KIND = "order_alert"


async def alert_members(session: AsyncSession, translator: Translator, order: Order, *, tag: str) -> int:
    """One outbox row per member; `tag` names the fact (a status), so a retry never queues twice.
    Rows for one chat leave in order, so the newest text is the one left on screen."""
    items = await repo.items_of(session, order.id)
    last_actor = await repo.last_actor_name(session, order.id)
    zone = zone_of(await get_store(session, order.store_id))
    channel = staff_channel_of(session)
    queued = 0
    if channel is None:
        return 0
    for member in await repo.members_with_telegram(session, order.store_id):
        assert member.telegram_user_id is not None
        payload: dict[str, Any] = {
            "order_id": order.id,
            "member_id": member.id,
            "chat_id": member.telegram_user_id,
            "text": alert_text(translator, member.language, order, items, last_actor, zone),
            "buttons": alert_buttons(translator, member.language, order),
        }
        queued += await outbox.enqueue(
            session,
            channel=channel,
            kind=ALERT_KIND,
            payload=payload,
            idempotency_key=f"order:{order.id}:{tag}:member:{member.id}",
            order_key=f"tg:{member.telegram_user_id}",
        )
    return queued


async def notify_customer(session: AsyncSession, translator: Translator, order: Order, *, by_customer: bool) -> bool:
    """A notice in the channel the order came from (a channel's name), at the contact's identity there."""
    contact = await repo.contact_of(session, order)
    if contact is None or order.source not in channels_of(session):
        return False
    text = customer_notice(translator, order, by_customer=by_customer)
    if text is None:
        return False
    return await send_to_customer(session, contact, order.source, Notice(text, html=True),
                                  f"order:{order.id}:status:{order.status}:customer")


async def publish(session: AsyncSession, order: Order, type_: str) -> None:
    """order.created / order.updated, seen by staff and by the members of the order's store."""
    items = await repo.items_of(session, order.id)
    events.publish(session, type_, order_payload(order, items), audience="store", store_id=order.store_id)
