"""Desk core: domain model, services, persistence, events, outbox, schedulers. No adapters here."""
