"""The support bot's "order status" intent finds the customer's own order, and only theirs."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import Translator
from core.services.order_lookup import order_status_for_contact
from tests.integration.orders.conftest import Shop, make_shop
from tests.integration.orders.test_change_status import OPERATOR, move, new_order


async def test_customer_finds_own_order_status_and_nobody_elses(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    order_id = await new_order(sessions, shop, translator)
    await move(sessions, translator, order_id, "rejected", OPERATOR, reason="closed")
    async with sessions() as session, session.begin():
        stranger = await make_shop(session, name="Other", first_user=8101)
    async with sessions() as session:
        found = await order_status_for_contact(session, shop.customer.id, f"#{order_id}")
        assert found is not None
        assert (found.number, found.status, found.store_name, found.reason) == (
            str(order_id), "rejected", "Pizza Roma", "closed")
        assert await order_status_for_contact(session, stranger.customer.id, str(order_id)) is None
        assert await order_status_for_contact(session, shop.customer.id, "99999999999999999999999") is None
        assert await order_status_for_contact(session, shop.customer.id, "A-12") is None
