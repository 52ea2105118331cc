"""Our own Message-IDs: derived from what they carry, so a retry resends the same id and a reply
to any of them leads back to its ticket without a lookup."""

from __future__ import annotations

import hashlib
import re
from email.utils import parseaddr

_OURS = re.compile(r"^<desk\.[a-z]+\d+\.t(\d+)@", re.IGNORECASE)
_SUBJECT_TAG = re.compile(r"\[#(\d{1,18})\]")


def domain_of(address: str | None) -> str:
    _name, parsed = parseaddr(address or "")
    return parsed.rpartition("@")[2].lower() or "desk.invalid"


def reply_id(message_id: int, ticket_id: int, domain: str) -> str:
    return f"<desk.m{message_id}.t{ticket_id}@{domain}>"


def notice_id(outbox_id: int, ticket_id: int | None, domain: str) -> str:
    return f"<desk.o{outbox_id}.t{ticket_id or 0}@{domain}>"


def ticket_of_our_id(rfc_id: str) -> int | None:
    found = _OURS.match(rfc_id)
    return int(found.group(1)) or None if found else None


_REPLY = re.compile(r"^<desk\.m(\d+)\.t(\d+)@", re.IGNORECASE)


def message_of_our_reply(rfc_id: str) -> tuple[int, int] | None:
    """(message id, ticket id) of an operator reply we sent with this Message-ID."""
    found = _REPLY.match(rfc_id)
    return (int(found.group(1)), int(found.group(2))) if found else None


def ticket_in_subject(subject: str) -> int | None:
    found = _SUBJECT_TAG.search(subject)
    return int(found.group(1)) if found else None


def external_key(mailbox: str, rfc_id: str, fingerprint: str) -> str:
    """The message row's idempotency key: one per mail (Message-ID and fingerprint) per mailbox."""
    return "mail:" + hashlib.sha256(f"{mailbox}\x00{rfc_id}\x00{fingerprint}".encode()).hexdigest()


def reply_subject(ticket_id: int, subject: str) -> str:
    base = _SUBJECT_TAG.sub("", subject)
    while True:
        stripped = re.sub(r"^\s*(re|fwd?|aw|ответ)\s*:\s*", "", base, flags=re.IGNORECASE)
        if stripped == base:
            break
        base = stripped
    return f"Re: [#{ticket_id}] {base.strip()}".rstrip()
