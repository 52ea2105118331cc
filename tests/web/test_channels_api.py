"""The channels and their capabilities through the API: staff read them, partners get 403, and a
ticket carries its own channel's capabilities."""

from __future__ import annotations

from tests.web.harness import Panel, customer_ticket
from tests.web.test_ticket_api import signed_in


async def test_staff_list_channels_with_what_each_can_do(panel: Panel, sessions) -> None:
    operator, _ = await signed_in(panel, sessions, "op@example.com")
    async with operator.get(panel.url("/api/channels")) as r:
        assert r.status == 200
        channels = {item["name"]: item for item in (await r.json())["items"]}
    assert set(channels) == {"telegram", "email", "web"}
    assert channels["telegram"]["typing_indicator"] and not channels["email"]["typing_indicator"]
    assert not channels["email"]["edits"] and channels["email"]["files"]["max_bytes"] > 0
    assert channels["web"]["served"] is True and channels["telegram"]["rate_limit"]["per_recipient"] > 0


async def test_partner_may_not_list_channels(panel: Panel, sessions) -> None:
    partner, _ = await signed_in(panel, sessions, "shop@example.com", role="partner")
    async with partner.get(panel.url("/api/channels")) as r:
        assert r.status == 403
    async with panel.client().get(panel.url("/api/channels")) as r:
        assert r.status == 401


async def test_ticket_carries_its_channel_capabilities(panel: Panel, sessions) -> None:
    operator, _ = await signed_in(panel, sessions, "op@example.com")
    ticket_id, _ = await customer_ticket(sessions)
    async with operator.get(panel.url(f"/api/tickets/{ticket_id}")) as r:
        capabilities = (await r.json())["channel_capabilities"]
    assert capabilities["name"] == "telegram" and capabilities["rates_on_close"] is True


async def test_channels_say_which_takes_orders_and_which_reaches_staff(panel: Panel, sessions) -> None:
    operator, _ = await signed_in(panel, sessions, "op@example.com")
    async with operator.get(panel.url("/api/channels")) as r:
        channels = {item["name"]: item for item in (await r.json())["items"]}
    async with operator.get(panel.url("/api/openapi.json")) as r:
        schema = (await r.json())["components"]["schemas"]["ChannelOut"]
    assert {"takes_orders", "staff_alerts"} <= set(schema["properties"]) and {"takes_orders", "staff_alerts"} <= set(
        schema["required"])
    assert {name: (c["takes_orders"], c["staff_alerts"]) for name, c in channels.items()} == {
        "telegram": (True, True), "email": (False, False), "web": (False, False)}
