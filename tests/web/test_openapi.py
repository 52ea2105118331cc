"""/api/openapi.json describes every /api route the app serves, with the right parameter types and
the refusals each may give."""

from __future__ import annotations

from typing import Any

from tests.web.harness import Panel


async def _document(panel: Panel) -> dict[str, Any]:
    async with panel.client().get(panel.url("/api/openapi.json")) as r:
        assert r.status == 200
        return dict(await r.json())


def _served(panel: Panel) -> set[tuple[str, str]]:
    """Every (path, method) under /api the aiohttp router answers (HEAD rides along with GET)."""
    served = set()
    for route in panel.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/api/") and route.method not in ("HEAD", "*"):
            served.add((path, route.method.lower()))
    return served


async def test_every_api_route_is_in_the_document(panel: Panel) -> None:
    doc = await _document(panel)
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    missing = _served(panel) - documented
    assert not missing, f"routes missing from /api/openapi.json: {sorted(missing)}"
    assert documented <= _served(panel)  # and nothing is described that is not served
    assert {("/api/orders", "post"), ("/api/orders/board", "get"), ("/api/orders/{id}", "patch")} <= documented


async def test_parameters_security_and_refusals_are_described(panel: Panel) -> None:
    doc = await _document(panel)
    paths = doc["paths"]
    (priority,) = paths["/api/sla/policies/{priority}"]["put"]["parameters"]
    assert priority["schema"] == {"type": "string", "enum": ["low", "medium", "high", "urgent"]}
    (ticket_id,) = paths["/api/tickets/{id}"]["get"]["parameters"]
    assert ticket_id["schema"]["type"] == "integer" and ticket_id["schema"]["maximum"] == 2**63 - 1
    assert paths["/api/orders"]["post"]["security"] == [{"storeToken": []}]
    assert {"storeToken": []} in paths["/api/orders/{id}"]["get"]["security"]
    assert {"409", "413", "415", "503"} <= set(paths["/api/tickets/{id}/messages"]["post"]["responses"])
    assert {"401", "429"} <= set(paths["/api/auth/login"]["post"]["responses"])
    assert "409" in paths["/api/orders/{id}"]["patch"]["responses"]
    outage = paths["/api/tickets"]["get"]["responses"]["503"]
    assert "Retry-After" in outage["headers"]
    assert outage["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
