"""The staff group: operators answer tickets from a Telegram forum supergroup, one topic per ticket.

A second way into the same tickets, never a silo: the topic shows what the ticket holds (through the
outbox, so a crash or a 429 loses nothing), and what staff write there goes through the same use cases
as the panel (`core.services.conversations`). Rules live here; `bot/staffgroup/` talks to Telegram.

- `links`: linking a group (admins only), its state for the panel and /healthz.
- `topics`: the hooks the conversation use cases call (a ticket opened, a message, a note, a status).
- `view`: what the delivery side reads and records (the card, what the topic has not shown yet).
- `inbound`: a staff member wrote in a topic or pressed a card's button.
"""
