"""Re-exported from web.sandbox.errors (the server is a product module now)."""

from web.sandbox.errors import ApiError, bad_request

__all__ = ["ApiError", "bad_request"]
