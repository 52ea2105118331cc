"""Reading headers of mail from anywhere: never raises, falls back to the raw value."""

from __future__ import annotations

import re
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

from core.domain import LANGUAGES

_MSGID = re.compile(r"<[^<>\s]+>")
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_DAEMONS = ("mailer-daemon", "postmaster", "noreply-dmarc-support")


# Only these carry encoded words worth decoding; the rest are read raw (the structured parser of
# the email package is slow, and ids, flags and language tags are plain ASCII anyway).
_DECODED = {"subject", "from", "sender", "reply-to"}


def header(msg: Message, name: str) -> str:
    """The decoded header, or its raw text when the structured parser chokes on it."""
    raw = next((value for key, value in _raw_items(msg) if key.lower() == name.lower()), None)
    if raw is None:
        return ""
    text = raw
    if name.lower() in _DECODED:
        try:
            value = msg.get(name)
            text = "" if value is None else str(value)
        except Exception:
            text = raw
    return " ".join(text.replace("\x00", "").split())


def _raw_items(msg: Message) -> list[tuple[str, str]]:
    if isinstance(msg, EmailMessage):
        return [(key, str(value)) for key, value in msg.raw_items()]
    return [(key, str(value)) for key, value in msg.items()]


def message_ids(value: str) -> list[str]:
    """Every <id> in a Message-ID / In-Reply-To / References value, in order, without repeats."""
    seen: dict[str, None] = {}
    for found in _MSGID.findall(value):
        seen.setdefault(found[:998], None)
    return list(seen)


def sender(msg: Message) -> tuple[str, str]:
    """(address, display name) of From, falling back to Sender and Return-Path."""
    for name in ("From", "Sender", "Reply-To", "Return-Path"):
        raw = header(msg, name)
        if not raw:
            continue
        pairs = getaddresses([raw]) or [parseaddr(raw)]
        for display, address in pairs:
            address = address.strip().lower()
            if "@" in address and " " not in address and len(address) <= 320:
                return address, display.strip()[:256]
    return "", ""


def auto_reason(msg: Message, address: str) -> str | None:
    """Why this mail is machine-made (auto-reply, bounce, list), or None for a person's mail."""
    auto_submitted = header(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"auto-submitted: {auto_submitted[:40]}"
    precedence = header(msg, "Precedence").lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response"):
        if header(msg, name):
            return name.lower()
    if header(msg, "List-Id") or header(msg, "List-Unsubscribe"):
        return "mailing list"
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    if address.split("@")[0] in _DAEMONS or not address:
        return "mailer-daemon"
    if header(msg, "Return-Path") == "<>":
        return "bounce (empty return path)"
    return None


def language(msg: Message) -> str | None:
    """The first language we speak named by Content-Language, then Accept-Language."""
    for name in ("Content-Language", "Accept-Language"):
        for tag in header(msg, name).split(","):
            base = tag.split(";")[0].strip().split("-")[0].lower()
            if base in LANGUAGES:
                return base
    return None
