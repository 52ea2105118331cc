"""Language of a request (operator preference, else Accept-Language) and the translated texts of
API errors, in one place so views never build error strings."""

from __future__ import annotations

from aiohttp import web

from core.domain import DEFAULT_LANGUAGE, LANGUAGES
from core.i18n import N_
from web.keys import ACTOR, DESK, LANG

ERROR_TEXTS = {
    "unauthorized": N_("Please sign in."),
    "forbidden": N_("You are not allowed to do this."),
    "csrf": N_("Your form has expired. Reload the page and try again."),
    "origin": N_("Requests from another site are refused."),
    "not_found": N_("Not found."),
    "validation": N_("Some fields are not valid."),
    "invalid_credentials": N_("Wrong e-mail or password."),
    "login_throttled": N_("Too many failed attempts. Try again in {seconds} seconds."),
    "login_locked": N_("This account is locked for {minutes} minutes after too many failed attempts."),
    "link_invalid": N_("This link is invalid, used or expired."),
    "not_allowed": N_("You are not allowed to do this."),
    "invalid_input": N_("Some fields are not valid."),
    "transition_not_allowed": N_("A ticket cannot go from {current} to {requested}."),
    "ticket_closed": N_("The ticket is closed; reopen it to reply."),
    "conflict": N_("This conflicts with the current state."),
    "too_large": N_("The file is too large (limit {limit_mb} MB)."),
    "unsupported_type": N_("This file type is not accepted."),
    "too_many_files": N_("At most {limit} files per message."),
    "bad_json": N_("The request body is not valid JSON."),
    "error": N_("Something went wrong."),
    "unavailable": N_("The service is briefly unavailable. Try again in a few seconds."),
    "bad_text": N_("Text must not contain NUL characters or broken Unicode."),
}

FIELD_TEXTS = {
    "missing": N_("This field is required."),
    "string_too_short": N_("Too short."),
    "string_too_long": N_("Too long."),
    "literal_error": N_("Not one of the allowed values."),
    "enum": N_("Not one of the allowed values."),
    "int_parsing": N_("Must be a whole number."),
    "int_type": N_("Must be a whole number."),
    "greater_than_equal": N_("Too small."),
    "less_than_equal": N_("Too large."),
    "greater_than": N_("Too small."),
    "less_than": N_("Too large."),
    "string_type": N_("Must be text."),
    "bool_parsing": N_("Must be true or false."),
    "bool_type": N_("Must be true or false."),
    "value_error": N_("Not a valid value."),
    "extra_forbidden": N_("Unknown field."),
    "string_pattern_mismatch": N_("Not in the expected format."),
    "invalid": N_("Not a valid value."),
}


def request_language(request: web.Request) -> str:
    actor = request.get(ACTOR)
    if actor is not None:
        return actor.operator.language
    header = request.headers.get("Accept-Language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def translate(request: web.Request, message: str, **params: object) -> str:
    """`message` must be marked where it is written (N_), so the catalogue test sees it."""
    language = request.get(LANG) or request_language(request)
    return request.app[DESK].translator.gettext(language, message, **params)


def error_text(request: web.Request, code: str, **params: object) -> str:
    return translate(request, ERROR_TEXTS.get(code, ERROR_TEXTS["error"]), **params)


def field_text(request: web.Request, error_type: str) -> str:
    return translate(request, FIELD_TEXTS.get(error_type, FIELD_TEXTS["invalid"]))
