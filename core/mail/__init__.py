"""The email channel: IMAP intake into tickets, SMTP replies in the same thread (no adapters here)."""
