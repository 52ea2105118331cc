"""The orders side of the bot: customers order and book, store staff act on alerts."""
