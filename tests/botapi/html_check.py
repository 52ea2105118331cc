"""Re-exported from web.sandbox.html_check (the server is a product module now)."""

from web.sandbox.html_check import ALLOWED, EntityError, plain_text

__all__ = ["ALLOWED", "EntityError", "plain_text"]
