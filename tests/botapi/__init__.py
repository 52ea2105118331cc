"""A Bot-API-compatible HTTP server for tests: the real aiogram client talks to it over loopback."""

from web.sandbox.objects import TgGroup, TgUser
from web.sandbox.server import Call, Fault, TelegramServer, Upload, WebhookAttempt

__all__ = ["Call", "Fault", "TelegramServer", "TgGroup", "TgUser", "Upload", "WebhookAttempt"]
