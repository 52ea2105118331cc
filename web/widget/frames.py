"""The frames a visitor's widget may send, validated before anything runs (unknown fields, wrong
types and oversize values are refused with an error frame, never an exception in the socket loop)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from core.i18n import N_

MAX_TEXT = 4000
MAX_FRAME_BYTES = 16 * 1024  # the socket refuses bigger frames outright (aiohttp closes with 1009)

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ClientId = Annotated[str, StringConstraints(pattern=CLIENT_ID.pattern)]
Arg = int | Annotated[str, StringConstraints(max_length=64)]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Start(_Frame):
    """The visitor opened the chat with nothing in it yet: the greeting and the menu."""

    type: Literal["start"]
    client_id: ClientId


class Say(_Frame):
    type: Literal["message"]
    client_id: ClientId
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]


class Press(_Frame):
    type: Literal["action"]
    client_id: ClientId
    action: Annotated[list[Arg], Field(min_length=1, max_length=4)]


class Email(_Frame):
    """The address the visitor wants replies they miss at too. Checked by `contacts.valid_email` after
    this (a bad address gets its own error with the client id, so the widget does not resend it)."""

    type: Literal["email"]
    client_id: ClientId
    email: Annotated[str, StringConstraints(max_length=1000)]


class Seen(_Frame):
    """The widget has shown the messages up to this id (sent while the panel is open and visible)."""

    type: Literal["seen"]
    id: Annotated[int, Field(ge=0, lt=2**63)]


class Ping(_Frame):
    type: Literal["ping"]


class Typing(_Frame):
    """The visitor is typing (widget.js sends it at most every 3 s while they do): the operators who may
    see their open ticket read "Visitor is typing…". Nothing is stored but the event."""

    type: Literal["typing"]


WebUrl = Annotated[str, StringConstraints(max_length=2048, pattern=r"^(https?://\S+)?$")]


class Visit(_Frame):
    """Where the visitor is, for the operator's customer card (`contact_identity.visit`). Each value is
    capped and shaped here; the panel shows them as text only. The widget cuts what is longer."""

    url: WebUrl = ""
    title: Annotated[str, StringConstraints(max_length=300)] = ""
    referrer: WebUrl = ""
    user_agent: Annotated[str, StringConstraints(max_length=512)] = ""
    language: Annotated[str, StringConstraints(max_length=35, pattern=r"^([A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*)?$")] = ""
    time_zone: Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_+/-]*$")] = ""
    local_time: Annotated[str, StringConstraints(max_length=40, pattern=r"^[0-9T:.+ Z-]*$")] = ""


class Hello(_Frame):
    """The widget's own hello after the desk's (every connect): where the visitor is now."""

    type: Literal["hello"]
    visit: Visit


LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
EMAIL = rf"^[^@\s<>\"]{{1,64}}@{LABEL}(?:\.{LABEL})+$"


class Prechat(_Frame):
    """The site's pre-chat form: the name the visitor gives (their contact's name from now on) and an
    e-mail address, unverified (shown to operators, never an e-mail identity). Empty means not given."""

    type: Literal["prechat"]
    client_id: ClientId
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254,
                                            pattern=f"({EMAIL})|^$")] = ""


Inbound = Annotated[Start | Say | Press | Email | Seen | Ping | Typing | Hello | Prechat, Field(discriminator="type")]
INBOUND: TypeAdapter[Start | Say | Press | Email | Seen | Ping | Typing | Hello | Prechat] = TypeAdapter(Inbound)

# What the visitor reads when the desk refuses a frame (their language: en/ru).
ERRORS = {
    "bad_frame": N_("The chat could not read that message. Please reload the page and try again."),
    "too_fast": N_("You are sending messages too fast. Please wait a moment."),
    "rate_limited": N_("Too many messages at once. Yours will be sent in a few seconds."),
    "failed": N_("Something went wrong on our side. Your message will be sent again shortly."),
    "too_large": N_("The file is too large."),
    "bad_type": N_("This type of file cannot be sent."),
    "bad_email": N_("That does not look like an e-mail address. Please check it and try again."),
    "bad_prechat": N_("Please give a name of at most 100 characters and a valid e-mail address."),
    "prechat_required": N_("Please tell us your name and e-mail address before writing."),
    "too_long": N_("The chat could not read that message: it is longer than 4,000 characters. "
                   "Please shorten it or send it in parts."),
}


def too_long(data: str) -> str | None:
    """The client id of a message frame refused only for its length; None for any other bad frame."""
    try:
        raw = json.loads(data)
    except ValueError:
        return None
    if not isinstance(raw, dict) or raw.get("type") != "message" or not isinstance(raw.get("text"), str):
        return None
    client_id = raw.get("client_id")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id) or len(raw["text"].strip()) <= MAX_TEXT:
        return None
    return client_id


def bad_prechat(data: str) -> str | None:
    """The client id of a pre-chat frame refused for its answers; None for any other bad frame."""
    try:
        raw = json.loads(data)
    except ValueError:
        return None
    if not isinstance(raw, dict) or raw.get("type") != "prechat":
        return None
    client_id = raw.get("client_id")
    return client_id if isinstance(client_id, str) and CLIENT_ID.match(client_id) else None
