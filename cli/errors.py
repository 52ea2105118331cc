"""What the `desk` command says when something goes wrong: one line, in the user's words and
language (LC_ALL, LC_MESSAGES or LANG, as every POSIX tool reads them; English unless they say ru)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.exc import InterfaceError, OperationalError

from core.domain import normalize_language
from core.errors import DeskError, NotFound
from core.i18n import N_, Translator

NOT_FOUND = {
    "store": N_("There is no store {store_id}."),
    "product": N_("There is no product {product_id}."),
    "operator": N_("There is no operator with the e-mail {email}."),
    "ticket": N_("There is no ticket {ticket_id}."),
    "queue": N_("There is no queue {queue_id}."),
}
# The same texts as the panel's, so one translation serves both.
BY_CODE = {
    "not_found": N_("Not found."),
    "not_allowed": N_("You are not allowed to do this."),
    "invalid_input": N_("Some fields are not valid."),
    "conflict": N_("This conflicts with the current state."),
    "error": N_("Something went wrong."),
}
DATABASE_UNREACHABLE = N_("Cannot reach the database ({reason}). Check DATABASE_URL and that PostgreSQL is running.")
# What a command meets when PostgreSQL is not there: refused or unresolvable (OSError), or refused by
# the server itself (SQLAlchemy wraps the driver's error).
DATABASE_ERRORS = (ConnectionError, socket.gaierror, OperationalError, InterfaceError)
UNEXPECTED = N_("Unexpected error: {reason}. Run again with --verbose for the details.")


def cli_language(environ: Mapping[str, str] = os.environ) -> str:
    """The first of LC_ALL, LC_MESSAGES, LANG that is set decides, as in gettext."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(name):
            return normalize_language(environ[name])
    return normalize_language(None)


def reason(error: BaseException) -> str:
    """The first line of what went wrong, for a one-line message."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return (text[0] if text else type(cause).__name__)[:200]


def explain(error: DeskError, translator: Translator, language: str) -> str:
    """The core's own message when it was written for people (marked with N_, translated), else a
    text for what was not found, else a developer's message as it is (English), else the kind's text."""
    params = {key: value for key, value in error.params.items() if isinstance(value, (str, int, float))}
    message = str(error)
    if translator.knows(message):
        return _text(translator, language, message, params)
    if isinstance(error, NotFound):
        return _text(translator, language, NOT_FOUND.get(message, BY_CODE["not_found"]), params)
    if message != error.code:  # a developer's text (not marked): more precise than any generic one,
        shown = [f"{key}: {value}" for key, value in params.items() if key != "field"]  # with what it refused
        return f"{message} ({', '.join(shown)})" if shown else message
    return _text(translator, language, BY_CODE.get(error.code, BY_CODE["error"]), {})


def _text(translator: Translator, language: str, message: str, params: Mapping[str, object]) -> str:
    try:
        return translator.gettext(language, message, **params)
    except (KeyError, IndexError):  # a text that names a parameter this error did not carry
        return translator.gettext(language, message)


@dataclass(frozen=True)
class Voice:
    """The command's words in the user's language."""

    translator: Translator
    language: str

    def __call__(self, message: str, **params: object) -> str:
        """`message` must be marked where it is written (N_), so the catalogue test sees it."""
        return _text(self.translator, self.language, message, params)

    def explain(self, error: DeskError) -> str:
        return explain(error, self.translator, self.language)
