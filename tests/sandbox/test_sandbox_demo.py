"""`desk demo` beside a running desk: its people join the running sandbox (no restart), the bot's order
alert reaches the demo partner's chat there, and the partner accepts the order from it."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from core.demo import cast, fill_demo
from core.i18n import load_translator
from core.models import Order
from core.sandbox_users import add_users
from tests.sandbox.harness import SandboxDesk
from tests.sandbox.test_sandbox_api import staff_client
from web.sandbox.app import SANDBOX


async def test_demo_people_join_a_running_sandbox_and_the_partner_accepts_an_order(sandbox_desk: SandboxDesk,
                                                                                    sessions: Any) -> None:
    panel, server = sandbox_desk.panel, sandbox_desk.server
    sandbox = panel.app[SANDBOX]
    async with sessions() as session, session.begin():
        await fill_demo(session, panel.desk.storage, load_translator(), language="en")
        await asyncio.to_thread(add_users, sandbox.state_path, cast.sandbox_users("en"))  # as `desk demo` does
    alert = await server.wait_for_call("sendMessage", lambda c: c.chat_id == cast.PARTNER_ID and "Accept" in str(
        c.buttons), timeout=15)
    assert "Tom" in alert.text
    client, headers = await staff_client(sandbox_desk, sessions)
    async with client.get(panel.url("/api/sandbox/users")) as r:
        listed = {user["id"]: user for user in (await r.json())["users"]}
    assert {int(i) for i in cast.external_ids()} <= set(listed)
    assert listed[cast.PARTNER_ID]["first_name"] == "Olga"
    sent = next(m for (chat, _), m in server.messages.items() if chat == cast.PARTNER_ID and "Tom" in m.get("text", ""))
    accept = next(b for row in sent["reply_markup"]["inline_keyboard"] for b in row if b["text"].endswith("Accept"))
    mark = server.mark()
    async with client.post(panel.url(f"/api/sandbox/users/{cast.PARTNER_ID}/press"), headers=headers,
                           json={"message_id": sent["message_id"], "data": accept["callback_data"]}) as r:
        assert r.status == 201, await r.text()
    edited = await server.wait_for_call(  # the alert changes in place
        "editMessageText", lambda c: c.chat_id == cast.PARTNER_ID and int(c.params["message_id"]) == sent["message_id"],
        since=mark, timeout=15)
    assert "Accepted, preparing" in edited.text and "Last action by Olga" in edited.text
    async with sessions() as session:
        tom_order = await session.scalar(select(Order).where(Order.customer_name == "Tom"))
    assert tom_order is not None and tom_order.status == "preparing"
