"""Re-exported from web.sandbox.objects (the server is a product module now)."""

from web.sandbox.objects import TgUser, bot_user, compact, now, photo_sizes

__all__ = ["TgUser", "bot_user", "compact", "now", "photo_sizes"]
