"""Dead letters for admins: inputs the desk could not handle (a poison Telegram update, a webhook body
that is no update), with the error, and "Try again" (the front that owns the source runs it)."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from core import dead_letters
from core.i18n import N_
from web.api.registry import ApiRegistry, json_ok, parse_query, path_id
from web.auth import admin
from web.i18n import translate
from web.keys import DB

SOURCES = {"telegram": N_("Telegram")}


class DeadLetterQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)


class DeadLetterOut(BaseModel):
    id: int
    source: str = Field(description="the front the input came from: telegram")
    source_text: str = Field(description="the source in the admin's language")
    external_id: str | None = Field(description="the input's own id (a Telegram update id), if it had a usable one")
    error: str
    state: Literal["failed", "retry"] = Field(description="failed, or retry while the owning front runs it again")
    attempts: int
    payload: str = Field(description="the input as received (cut at 4,000 characters)")
    created_at: str
    updated_at: str
    resolved_at: str | None


class DeadLetterList(BaseModel):
    items: list[DeadLetterOut]


def _shown(request: web.Request, row: dict[str, Any]) -> dict[str, Any]:
    source = row["source"]
    return {**row, "source_text": translate(request, SOURCES[source]) if source in SOURCES else source}


async def list_open(request: web.Request) -> web.Response:
    actor = admin(request)
    query = parse_query(request, DeadLetterQuery)
    rows = await dead_letters.list_open(request[DB], actor.operator, limit=query.limit)
    return json_ok({"items": [_shown(request, row) for row in rows]})


async def retry(request: web.Request) -> web.Response:
    actor = admin(request)
    row = await dead_letters.request_retry(request[DB], actor.operator, path_id(request))
    await request[DB].commit()
    return json_ok(_shown(request, row))


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/dead-letters", list_open, "Inputs the desk could not handle and has not resolved, "
            "newest first", access="admin", query=DeadLetterQuery, response=DeadLetterList)
    api.add("POST", "/api/dead-letters/{id}/retry", retry, "Ask the front that owns the input to run it again; "
            "the row then turns resolved, or failed with the new error (dead_letter.updated over /ws)",
            access="admin", response=DeadLetterOut)
