"""Typed domain errors; bot/ and web/ translate them for the person who hit them."""

from __future__ import annotations


class DeskError(Exception):
    """Base of every error a front translates. `code` is a stable key for translations and APIs."""

    code = "error"

    def __init__(self, message: str = "", **params: object) -> None:
        super().__init__(message or self.code)
        self.params = params


class NotFound(DeskError):
    code = "not_found"


class NotAllowed(DeskError):
    code = "not_allowed"


class InvalidInput(DeskError):
    code = "invalid_input"


class TransitionNotAllowed(DeskError):
    code = "transition_not_allowed"


class TicketClosed(DeskError):
    code = "ticket_closed"


class Conflict(DeskError):
    code = "conflict"


class TooLarge(DeskError):
    code = "too_large"


class UnsupportedType(DeskError):
    code = "unsupported_type"
