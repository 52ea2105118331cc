from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AuditLog


def record(
    session: AsyncSession,
    *,
    actor_kind: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    **data: Any,
) -> None:
    session.add(
        AuditLog(
            actor_kind=actor_kind,
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            data=data,
        )
    )
