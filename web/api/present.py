"""ORM rows to the JSON the API answers with."""

from __future__ import annotations

from typing import Any

from core.models import ApiToken, Operator, Queue, SavedReply, WebSession


def operator_json(operator: Operator, *, with_email: bool = True) -> dict[str, Any]:
    return {
        "id": operator.id,
        "email": operator.email if with_email else None,
        "display_name": operator.display_name,
        "role": operator.role,
        "language": operator.language,
        "is_active": operator.is_active,
    }


def queue_json(queue: Queue, language: str = "en") -> dict[str, Any]:
    return {"id": queue.id, "slug": queue.slug, "name": queue.name, "name_ru": queue.name_ru,
            "display_name": queue.display_name(language), "position": queue.position,
            "customer_visible": queue.customer_visible, "assign_on_reply": queue.assign_on_reply,
            "auto_assign": queue.auto_assign}


def token_json(row: ApiToken, plain: str | None = None) -> dict[str, Any]:
    return {"id": row.id, "operator_id": row.operator_id, "name": row.name, "prefix": row.prefix,
            "created_at": row.created_at.isoformat(),
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None, "token": plain}


def saved_reply_json(reply: SavedReply) -> dict[str, Any]:
    return {"id": reply.id, "shortcut": reply.shortcut, "title": reply.title, "body": reply.body,
            "language": reply.language}


def session_json(row: WebSession, current_id: int | None) -> dict[str, Any]:
    return {"id": row.id, "current": row.id == current_id, "user_agent": row.user_agent, "ip": row.ip,
            "created_at": row.created_at.isoformat(), "last_seen_at": row.last_seen_at.isoformat()}
