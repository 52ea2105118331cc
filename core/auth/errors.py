"""Errors of the account area; fronts map them to 401/429 without saying which part was wrong."""

from __future__ import annotations

from core.errors import DeskError


class InvalidCredentials(DeskError):
    code = "invalid_credentials"


class LoginThrottled(DeskError):
    """Too many failures: the caller must wait `retry_after` seconds (slowed, then locked)."""

    code = "login_throttled"

    def __init__(self, retry_after: float, *, locked: bool) -> None:
        super().__init__("login throttled", retry_after=retry_after, locked=locked)
        self.retry_after = retry_after
        self.locked = locked


class LinkInvalid(DeskError):
    """An invite or reset link that is unknown, used or expired."""

    code = "link_invalid"
