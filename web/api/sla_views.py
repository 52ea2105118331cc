"""SLA settings in the panel: policies per priority, business hours and holidays per queue, and who
works a queue (they get its SLA alerts while a ticket is unassigned). Staff read; admins edit."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.domain import PRIORITIES
from core.sla import admin as sla_admin
from core.sla.hours import QueueHours
from core.sla.policy import Policy
from web.api import schemas as s
from web.api.registry import ApiRegistry, json_ok, parse_body, path_id
from web.auth import actor_of
from web.keys import DB


def policy_json(item: Policy) -> dict[str, Any]:
    return {"priority": item.priority, "first_response_minutes": item.first_response_minutes,
            "resolution_minutes": item.resolution_minutes, "custom": item.custom}


def hours_json(queue_id: int, hours: QueueHours | None) -> dict[str, Any]:
    if hours is None:
        return {"queue_id": queue_id, "time_zone": None, "weekly": None, "holidays": []}
    return {"queue_id": queue_id, "time_zone": hours.time_zone, "weekly": hours.weekly,
            "holidays": [{"day": day.isoformat(), "name": name} for day, name in hours.holidays]}


async def list_policies(request: web.Request) -> web.Response:
    rows = await sla_admin.list_policies(request[DB], actor_of(request).operator)
    return json_ok({"items": [policy_json(row) for row in rows]})


def _priority(request: web.Request) -> str:
    return request.match_info["priority"]


async def put_policy(request: web.Request) -> web.Response:
    actor = actor_of(request)
    body = await parse_body(request, s.SlaPolicyIn)
    row = await sla_admin.update_policy(request[DB], actor.operator, _priority(request),
                                        first_response=body.first_response_minutes,
                                        resolution=body.resolution_minutes)
    await request[DB].commit()
    return json_ok(policy_json(row))


async def reset_policy(request: web.Request) -> web.Response:
    row = await sla_admin.reset_policy(request[DB], actor_of(request).operator, _priority(request))
    await request[DB].commit()
    return json_ok(policy_json(row))


async def get_hours(request: web.Request) -> web.Response:
    queue_id = path_id(request)
    return json_ok(hours_json(queue_id, await sla_admin.queue_hours(request[DB], actor_of(request).operator, queue_id)))


async def put_hours(request: web.Request) -> web.Response:
    actor, queue_id = actor_of(request), path_id(request)
    body = await parse_body(request, s.BusinessHoursIn)
    db = request[DB]
    weekly: dict[str, list[list[str]]] = dict(body.weekly.items())  # weekday names are strings to core
    await sla_admin.update_hours(db, actor.operator, queue_id, time_zone=body.time_zone, weekly=weekly)
    await sla_admin.update_holidays(db, actor.operator, queue_id, [(h.day, h.name) for h in body.holidays])
    await db.commit()
    return json_ok(hours_json(queue_id, await sla_admin.queue_hours(db, actor.operator, queue_id)))


async def clear_hours(request: web.Request) -> web.Response:
    actor, queue_id = actor_of(request), path_id(request)
    await sla_admin.clear_hours(request[DB], actor.operator, queue_id)
    await request[DB].commit()
    return json_ok(hours_json(queue_id, None))


async def get_members(request: web.Request) -> web.Response:
    rows = await sla_admin.queue_members(request[DB], actor_of(request).operator, path_id(request))
    return json_ok({"operator_ids": [row.id for row in rows]})


async def put_members(request: web.Request) -> web.Response:
    actor, queue_id = actor_of(request), path_id(request)
    body = await parse_body(request, s.QueueMembersIn)
    await sla_admin.set_queue_members(request[DB], actor.operator, queue_id, body.operator_ids)
    await request[DB].commit()
    rows = await sla_admin.queue_members(request[DB], actor.operator, queue_id)
    return json_ok({"operator_ids": [row.id for row in rows]})


def register(api: ApiRegistry) -> None:
    api.add("GET", "/api/sla/policies", list_policies, "SLA policy per priority (defaults filled in)")
    priority = {"priority": {"type": "string", "enum": list(PRIORITIES)}}
    api.add("PUT", "/api/sla/policies/{priority}", put_policy, "Set a priority's first-response and resolution times",
            access="admin", body=s.SlaPolicyIn, path_types=priority)
    api.add("DELETE", "/api/sla/policies/{priority}", reset_policy, "Back to the built-in default", access="admin",
            path_types=priority)
    api.add("GET", "/api/queues/{id}/hours", get_hours, "A queue's business hours and holidays (none: 24/7)")
    api.add("PUT", "/api/queues/{id}/hours", put_hours, "Set a queue's business hours, time zone and holidays",
            access="admin", body=s.BusinessHoursIn)
    api.add("DELETE", "/api/queues/{id}/hours", clear_hours, "The queue works around the clock", access="admin")
    api.add("GET", "/api/queues/{id}/members", get_members, "Operators who work the queue")
    api.add("PUT", "/api/queues/{id}/members", put_members,
            "Replace who works the queue (they get SLA alerts for its unassigned tickets)", access="admin",
            body=s.QueueMembersIn)
