"""Panel accounts: login with throttling, server-side sessions, API tokens, account links, permissions."""
