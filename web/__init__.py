"""aiohttp panel, JSON API and WebSocket hub. Imports core, never bot."""
