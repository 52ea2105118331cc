"""Re-exported from web.sandbox.methods (the server is a product module now)."""

from web.sandbox.methods import CALLBACK_DATA_LIMIT, CAPTION_LIMIT, FILE_LIMIT, METHODS, TEXT_LIMIT

__all__ = ["CALLBACK_DATA_LIMIT", "CAPTION_LIMIT", "FILE_LIMIT", "METHODS", "TEXT_LIMIT"]
