"""The customer channels and what each can do, as their adapters declared them (staff only): the panel
hides what a ticket's channel cannot do, and an API client learns it the same way."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.channels import ChannelSpec
from web.api import schemas as s
from web.api.registry import ApiRegistry, json_ok
from web.auth import staff
from web.keys import DESK


def capabilities_json(spec: ChannelSpec) -> dict[str, Any]:
    files = spec.files and {"max_bytes": spec.files.max_bytes, "kinds": sorted(spec.files.kinds)}
    rate = spec.rate_limit and {"per_recipient": spec.rate_limit.per_recipient, "overall": spec.rate_limit.overall}
    return {
        "name": spec.name, "label": spec.label, "served": spec.served, "edits": spec.edits, "replies": spec.replies,
        "files": files, "buttons": spec.buttons, "typing_indicator": spec.typing_indicator,
        "read_receipts": spec.read_receipts, "rate_limit": rate, "live_conversations": spec.live_conversations,
        "reopens": spec.reopens, "offline_alerts": spec.offline_alerts, "rates_on_close": spec.rates_on_close,
        "customer_notices": spec.customer_notices, "takes_orders": spec.takes_orders,
        "staff_alerts": spec.staff_alerts,
    }


async def list_channels(request: web.Request) -> web.Response:
    staff(request)
    return json_ok({"items": [capabilities_json(spec) for spec in request.app[DESK].channels]})


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/channels", list_channels, "Customer channels and what each can do", response=s.ChannelList)
