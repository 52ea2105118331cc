"""The staff group's Telegram side: linking (`/link_staff_group`), the topic kinds of the outbox, and
what staff write or press in a topic. Rules are core's (`core.staffgroup`)."""
