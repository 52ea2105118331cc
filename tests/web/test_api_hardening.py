"""Malformed input gets a 4xx naming the field, never a 500 (the fuzz findings, one by one)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.web.harness import PASSWORD, Panel, customer_ticket, make_operator, website_shop
from tests.web.test_ticket_api import signed_in

BIGINT_PAST = "99999999999999999999"


async def _status(client: Any, method: str, url: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with client.request(method, url, **kwargs) as r:
        body = await r.json() if r.content_type == "application/json" else {}
        return r.status, body


@pytest.mark.parametrize("path", ["/api/tickets/%C2%B2", "/api/tickets/%D9%A3", f"/api/tickets/{BIGINT_PAST}",
                                  "/api/orders/%C2%B2", f"/api/orders/{BIGINT_PAST}",
                                  "/api/products/%C2%B2/photo", f"/api/kb/articles/{BIGINT_PAST}"])
async def test_a_path_id_that_is_not_ascii_digits_within_bigint_is_not_found(panel: Panel, sessions,
                                                                              path: str) -> None:
    admin, _ = await signed_in(panel, sessions, "root@example.com", role="admin")
    status, body = await _status(admin, "GET", panel.url(path))
    assert status == 404 and body["error"] == "not_found"


@pytest.mark.parametrize("path", ["/tickets/%C2%B2", f"/tickets/{BIGINT_PAST}"])
async def test_a_page_with_a_strange_id_is_not_found(panel: Panel, sessions, path: str) -> None:
    admin, _ = await signed_in(panel, sessions, "root@example.com", role="admin")
    async with admin.get(panel.url(path), allow_redirects=False) as r:
        assert r.status == 404


async def test_nul_in_a_json_field_is_refused_naming_the_field(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    status, body = await _status(admin, "PATCH", panel.url("/api/me"), json={"display_name": "a\u0000b"}, headers=csrf)
    assert status == 422 and list(body["fields"]) == ["display_name"]


async def test_nul_in_a_query_value_is_refused_naming_the_field(panel: Panel, sessions) -> None:
    admin, _ = await signed_in(panel, sessions, "root@example.com", role="admin")
    status, body = await _status(admin, "GET", panel.url("/api/tickets?q=%00"))
    assert status == 422 and list(body["fields"]) == ["q"]


async def test_nul_in_the_login_email_is_refused_naming_the_field(panel: Panel) -> None:
    status, body = await _status(panel.client(), "POST", panel.url("/api/auth/login"),
                                 json={"email": "a\u0000@example.com", "password": "x"})
    assert status == 422 and list(body["fields"]) == ["email"]


async def test_a_query_id_beyond_bigint_is_refused_naming_the_field(panel: Panel, sessions) -> None:
    admin, _ = await signed_in(panel, sessions, "root@example.com", role="admin")
    status, body = await _status(admin, "GET", panel.url(f"/api/tickets?queue_id={BIGINT_PAST}"))
    assert status == 422 and list(body["fields"]) == ["queue_id"]
    status, body = await _status(admin, "GET", panel.url(f"/api/orders?store_id={BIGINT_PAST}"))
    assert status == 422 and list(body["fields"]) == ["store_id"]


async def test_body_ids_beyond_bigint_are_refused_naming_the_field(panel: Panel, sessions) -> None:
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    status, body = await _status(admin, "PUT", panel.url("/api/queues/1/members"),
                                 json={"operator_ids": [int(BIGINT_PAST)]}, headers=csrf)
    assert status == 422 and list(body["fields"]) == ["operator_ids.0"]


async def test_a_lone_surrogate_in_an_order_is_refused_naming_the_field(panel: Panel, sessions) -> None:
    shop = await website_shop(sessions, "Corner")
    raw = '{"kind": "pickup", "customer_name": "\\ud800", "items": []}'
    status, body = await _status(panel.client(), "POST", panel.url("/api/orders"), data=raw,
                                 headers={"Authorization": f"Bearer {shop.token}", "Idempotency-Key": "k-1",
                                          "Content-Type": "application/json"})
    assert status == 422 and list(body["fields"]) == ["customer_name"]
    status, body = await _status(panel.client(), "POST", panel.url("/api/orders"), data='{"a": "\\ud800"}',
                                 headers={"Authorization": f"Bearer {shop.token}", "Idempotency-Key": "k-2",
                                          "Content-Type": "application/json"})
    assert status == 422 and list(body["fields"]) == ["a"]


async def test_trace_is_refused_with_the_allowed_methods(panel: Panel, sessions) -> None:
    admin, _ = await signed_in(panel, sessions, "root@example.com", role="admin")
    async with admin.request("TRACE", panel.url("/api/tickets")) as r:
        assert r.status == 405
        assert set(r.headers["Allow"].split(",")) >= {"GET"}


async def _raw_request(panel: Panel, head: bytes, body: bytes) -> tuple[int, dict[str, Any]]:
    """Bytes a client library would not send (a header that is not UTF-8), straight on the socket."""
    reader, writer = await asyncio.open_connection(panel.server.host, panel.server.port)
    writer.write(head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, json.loads(answer.split(b"\r\n\r\n", 1)[1])


async def test_a_header_that_is_not_utf8_is_refused_naming_it(panel: Panel, sessions) -> None:
    await make_operator(sessions, "root@example.com", role="admin")
    body = json.dumps({"email": "root@example.com", "password": PASSWORD}).encode()
    status, answer = await _raw_request(panel, b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\n"
                                        b"Content-Type: application/json\r\nUser-Agent: ab\xff\xfe\r\n", body)
    assert status == 422 and list(answer["fields"]) == ["User-Agent"]


async def test_nul_in_a_multipart_form_field_is_refused_naming_the_field(panel: Panel, sessions) -> None:
    ticket_id, _ = await customer_ticket(sessions)
    admin, csrf = await signed_in(panel, sessions, "root@example.com", role="admin")
    form = aiohttp.FormData()
    form.add_field("body", "a\x00b")
    form.add_field("file", b"hello", filename="a.txt", content_type="text/plain")
    status, body = await _status(admin, "POST", panel.url(f"/api/tickets/{ticket_id}/messages"), data=form,
                                 headers=csrf)
    assert status == 422 and list(body["fields"]) == ["body"]
