"""Routers of the support bot, each from its module's `create_router()`."""
