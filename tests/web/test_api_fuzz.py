"""Property-based fuzzing of the JSON API from its own OpenAPI document (schemathesis): valid and
invalid requests to every operation, signed in as an admin with a personal API token (the orders
intake with a store's token). No answer may be a 5xx, and every answer must match the document:
status code, content type, headers and body schema."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web.harness import Panel, customer_ticket, login, make_operator, website_shop

EXAMPLES = 4  # per operation and generation mode: about 500 requests, well under a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Operations that would lock the fuzzer out of the rest of the run (its own token revoked); they are
# covered by their own tests (test_admin_api).
EXCLUDED = {("POST", "/api/operators/{id}/reset"), ("DELETE", "/api/tokens/{id}")}


async def _admin_token(panel: Panel, sessions: Any) -> str:
    await make_operator(sessions, "fuzz@example.com", role="admin")
    client = panel.client()
    csrf = await login(panel, client, "fuzz@example.com")
    async with client.post(panel.url("/api/tokens"), json={"name": "fuzz"}, headers={"X-CSRF-Token": csrf}) as r:
        return str((await r.json())["token"])


def _headers(operation: Any, admin_token: str, store_token: str) -> dict[str, str]:
    security = operation.definition.raw.get("security", [])
    if security == [{"storeToken": []}]:
        return {"Authorization": f"Bearer {store_token}", "Idempotency-Key": uuid.uuid4().hex}
    return {"Authorization": f"Bearer {admin_token}"}


def _fuzz_operation(operation: Any, mode: GenerationMode, base_url: str, admin_token: str, store_token: str,
                    seen: Counter[int]) -> None:
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                         suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers=_headers(operation, admin_token, store_token), timeout=15)
        seen[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    check()


def _fuzz(document: dict[str, Any], base_url: str, admin_token: str, store_token: str,
          seen: Counter[int]) -> list[str]:
    schema = schemathesis.openapi.from_dict(document)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz_operation(operation, mode, base_url, admin_token, store_token, seen)
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body)
            except Exception as exc:  # every operation's failure is collected and reported
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}")
    return failures


async def test_fuzzed_requests_get_no_5xx_and_answers_match_the_document(panel: Panel, sessions) -> None:
    admin_token = await _admin_token(panel, sessions)
    await customer_ticket(sessions)  # something behind the small ids the fuzzer likes
    shop = await website_shop(sessions, "Corner")
    async with panel.client().get(panel.url("/api/openapi.json")) as r:
        document = await r.json()
    seen: Counter[int] = Counter()
    failures = await asyncio.to_thread(_fuzz, document, panel.origin, admin_token, shop.token, seen)
    assert not failures, "\n\n".join(failures)
    accepted = sum(count for status, count in seen.items() if status < 300)
    assert accepted >= 50, f"too few requests got through to the views, check the fuzzer's sign-in: {seen}"
