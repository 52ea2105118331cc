"""The live board's first paint on real PostgreSQL: every open column gets its oldest orders even
when another column's backlog is long, says how many it leaves out, and costs three statements."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.i18n import Translator
from core.orders import queries
from tests.integration.orders.conftest import Shop
from tests.integration.orders.test_change_status import OPERATOR, move, new_order


async def test_a_long_pending_backlog_leaves_the_other_columns_whole(
    sessions: async_sessionmaker[AsyncSession], shop: Shop, translator: Translator
) -> None:
    pending = [await new_order(sessions, shop, translator) for _ in range(9)]  # more than 2 x 4 columns
    accepted = await new_order(sessions, shop, translator)  # the newest order of all
    await move(sessions, translator, accepted, "preparing", OPERATOR)
    async with sessions() as session:
        statements: list[str] = []
        connection = await session.connection()
        event.listen(connection.sync_connection, "before_cursor_execute",
                     lambda _c, _cur, sql, *_rest: statements.append(sql))
        board = await queries.board(session, OPERATOR, per_status=2)
    assert [order["id"] for order in board.columns["pending"]] == pending[:2]  # the oldest first
    assert [order["id"] for order in board.columns["preparing"]] == [accepted]  # not crowded out
    assert board.columns["preparing"][0]["items"][0]["name"] == "Margherita"
    assert board.more == {"pending": 7}
    assert len(statements) == 3
