"""aiogram 3 front: routers, handlers, middlewares, the Telegram channel. Imports core, never web."""
