"""`desk run` with its pool behind PgBouncer in transaction mode (two server connections for all of the
desk's pooled ones) and DATABASE_DIRECT_URL to the server for what holds session state: a customer's
message through the Telegram test server reaches the operator's socket live (LISTEN, event reader), an
operator's reply is delivered (outbox lease owner), the scheduler has a leader, and no prepared
statement collides on a shared server connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from tests.botapi import TelegramServer
from tests.drills.customers import delivered_texts, hand_off
from tests.drills.operator import Operator, Socket
from tests.drills.pgbouncer import BINARY, PgBouncer
from tests.drills.postgres import ExternalPostgres
from tests.drills.process import DeskProcess, create_admin
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180),
              pytest.mark.skipif(BINARY is None, reason="no pgbouncer binary (Debian: apt-get install pgbouncer)")]


@pytest.fixture
def pgbouncer(external_pg: ExternalPostgres) -> Iterator[PgBouncer]:
    bouncer = PgBouncer(external_pg.port, pool_size=2)
    bouncer.start()
    yield bouncer
    bouncer.stop()


async def test_desk_behind_pgbouncer_in_transaction_mode(
    start_desk: Callable[..., DeskProcess], telegram: TelegramServer, drill_db: str, pgbouncer: PgBouncer,
) -> None:
    database = drill_db.rsplit("/", 1)[1]
    desk = start_desk(DATABASE_URL=pgbouncer.url(database), DATABASE_DIRECT_URL=drill_db)
    await desk.wait_healthy()
    components = (await desk.healthz() or (0, {}))[1].get("components", {})
    assert (components.get("scheduler"), components.get("listener")) == ("leader", "ok"), components
    await create_admin(desk.env)
    before = pgbouncer.transactions(database)

    customer = telegram.user("Pooled")
    ticket_id = await hand_off(telegram, customer)
    operator = Operator(desk)
    socket = Socket(desk, operator.http)
    try:
        await operator.login()
        await socket.open()
        for n in range(5):  # several rounds: statements of many pooled connections over two server ones
            await telegram.send(customer, f"through the pooler {n}")
            await eventually(lambda n=n: f"through the pooler {n}" in socket.bodies(), timeout=20)
            reply = await operator.reply(ticket_id, f"answer through the pooler {n}")
            assert reply.status == 201, reply
            await eventually(lambda n=n: any(text.startswith(f"answer through the pooler {n}")
                                             for text in delivered_texts(telegram, customer.id)), timeout=20)
        passed = pgbouncer.transactions(database) - before
        print(f"\nPgBouncer passed {passed} transactions of the desk's pool over 2 server connections")
        assert passed > 20, "the pool did not go through PgBouncer"
        assert "prepared statement" not in desk.log, desk.tail(40)
        assert (await desk.healthz() or (0,))[0] == 200
        assert await desk.stop() == 0
    finally:
        await socket.close()
        await operator.close()
        await asyncio.sleep(0)
