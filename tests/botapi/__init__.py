"""A Bot-API-compatible HTTP server for tests: the real aiogram client talks to it over loopback."""

from tests.botapi.objects import TgUser
from tests.botapi.server import Call, Fault, TelegramServer, Upload, WebhookAttempt

__all__ = ["Call", "Fault", "TelegramServer", "TgUser", "Upload", "WebhookAttempt"]
