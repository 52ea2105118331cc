"""The built-in Telegram sandbox: a Bot-API-compatible server in the desk's own web app, and the
/sandbox page where staff play Telegram users. See `web.sandbox.setup`."""
