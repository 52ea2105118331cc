"""The Bot API server moved into the product (web.sandbox); the tests keep importing it from here."""

from web.sandbox.server import FILE_LIMIT, Call, Fault, StoredFile, TelegramServer, Upload, WebhookAttempt, bot_user

__all__ = ["FILE_LIMIT", "Call", "Fault", "StoredFile", "TelegramServer", "Upload", "WebhookAttempt", "bot_user"]
