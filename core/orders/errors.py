"""Typed errors of the orders area; fronts translate them by `code`."""

from __future__ import annotations

from core.errors import Conflict, InvalidInput


class OrderInvalid(InvalidInput):
    """An order draft failed validation; `errors` maps each field to a stable error code."""

    code = "order_invalid"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("order is invalid", errors=errors)
        self.errors = errors


class AlreadyChanged(Conflict):
    """Someone moved the order first (two presses at once, or an old button)."""

    code = "order_already_changed"

    def __init__(self, order_id: int, status: str, by: str) -> None:
        super().__init__("order already changed", order_id=order_id, status=status, by=by)
        self.order_id = order_id
        self.status = status
        self.by = by


class InviteInvalid(InvalidInput):
    """Unknown, used or expired invite token (the same answer for all three: nothing to probe)."""

    code = "invite_invalid"


class IdempotencyMismatch(Conflict):
    """The Idempotency-Key was used before with a different request body."""

    code = "idempotency_mismatch"
