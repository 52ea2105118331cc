from __future__ import annotations


class ApiError(Exception):
    """Answered as {"ok": false, "error_code", "description", "parameters"}."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")
