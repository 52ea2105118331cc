"""The staff group in the panel: the linked groups and what is wrong with one (staff read, admins
choose the queue a group serves and unlink), and each staff member's own Telegram link (a one-time deep
link to the bot), which lets them answer in the group's topics."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from core.i18n import N_
from core.models import Queue, StaffGroup
from core.services.operator_link import create_link_token, deep_link
from core.staffgroup import links
from web.api.registry import ApiRegistry, json_ok, parse_body, path_id
from web.api.schemas import Strict
from web.auth import admin, staff
from web.i18n import translate
from web.keys import DB, DESK, LANG

STATES = {
    "ok": N_("Working"),
    links.NOT_FORUM: N_("Not a forum: turn on Topics in the group's settings"),
    links.NO_RIGHTS: N_("The bot may not manage topics: make it an administrator with that right"),
    links.REMOVED: N_("The bot is no longer in the group: add it again and run /link_staff_group"),
}


class StaffGroupOut(BaseModel):
    id: int
    chat_id: int
    title: str
    queue_id: int | None = Field(description="the queue whose tickets go there; null: the default group")
    queue_name: str | None
    state: str = Field(description="ok, not_forum, no_rights or removed")
    state_text: str = Field(description="the state in the reader's language")
    problem: str | None = Field(description="what Telegram said, when the state is not ok")


class StaffGroupList(BaseModel):
    items: list[StaffGroupOut]
    telegram_linked: bool = Field(description="the reader linked Telegram (may answer in topics)")


class TelegramLinkOut(BaseModel):
    link: str | None = Field(description="open it in Telegram to link the account (null: no bot username known)")
    start: str = Field(description="the /start payload, for a bot whose username is not configured")


class StaffGroupPatch(Strict):
    queue_id: int | None = Field(description="the queue whose tickets go there; null: the default group")


class StaffGroupPatchOut(StaffGroupOut):
    topics: int = Field(description="open tickets that got (or caught up) their topic there now")


async def _item(request: web.Request, group: StaffGroup) -> dict[str, object]:
    queue = await request[DB].get(Queue, group.queue_id) if group.queue_id is not None else None
    return {"id": group.id, "chat_id": group.chat_id, "title": group.title, "queue_id": group.queue_id,
            "queue_name": queue.display_name(request[LANG]) if queue else None, "state": group.state,
            "state_text": translate(request, STATES.get(group.state, group.state)), "problem": group.problem}


async def list_groups(request: web.Request) -> web.Response:
    actor = staff(request)
    items = [await _item(request, group) for group in await links.groups(request[DB])]
    return json_ok({"items": items, "telegram_linked": actor.operator.telegram_user_id is not None})


async def serve_queue(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await parse_body(request, StaffGroupPatch)
    result = await links.serve_queue(request[DB], actor.operator, path_id(request), body.queue_id)
    await request[DB].commit()
    assert result.group is not None
    return json_ok({**await _item(request, result.group), "topics": result.topics})


async def unlink(request: web.Request) -> web.Response:
    actor = admin(request)
    await links.unlink_group(request[DB], actor.operator, path_id(request))
    await request[DB].commit()
    return web.Response(status=204)


async def telegram_link(request: web.Request) -> web.Response:
    actor = staff(request)
    token = await create_link_token(request[DB], actor.operator.id)
    await request[DB].commit()
    username = request.app[DESK].settings.telegram_bot_username
    return json_ok({"link": deep_link(username, token) if username else None, "start": f"link_{token}"}, status=201)


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/staff-groups", list_groups, "The linked staff groups (Telegram forum supergroups) and "
            "their state", access="staff", response=StaffGroupList)
    api.add("PATCH", "/api/staff-groups/{id}", serve_queue, "Choose the queue a linked group serves (null: the "
            "default group); open tickets it now covers get their topics there", access="admin",
            body=StaffGroupPatch, response=StaffGroupPatchOut, errors=(409,))
    api.add("DELETE", "/api/staff-groups/{id}", unlink, "Stop making topics in a group", access="admin",
            status=204)
    api.add("POST", "/api/staff-groups/telegram-link", telegram_link, "A one-time link that ties the reader's "
            "Telegram account to their desk account (to answer in the staff group)", access="staff",
            response=TelegramLinkOut, status=201)
