"""The customer dialogue, channel-neutral: what the desk answers (greeting, menu, knowledge base,
handoff, closing, rating), as `Answer`s each channel's adapter renders in its own way.

Entry points are on `Dialogue` (`service.py`); the answers and actions in `answers.py`; the state of
one (contact, channel) conversation, kept in the update's own transaction, in `state.py`."""

from core.dialogue.answers import Action, Answer, ArticleView, Button, Incoming, Link
from core.dialogue.service import TOPICS, Dialogue, closed_notice

__all__ = ["TOPICS", "Action", "Answer", "ArticleView", "Button", "Dialogue", "Incoming", "Link", "closed_notice"]
