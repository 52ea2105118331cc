"""Bounces: a delivery-status report (RFC 3464) or a plain-text non-delivery mail, read for the
Message-IDs of the mail it returns and the reason it failed.

The plain-text reading is conservative, because a bounce opens no ticket: the mail must come from
a mail server (MAILER-DAEMON, postmaster, or the empty return path `<>` that only servers use) and
say that it failed, in its subject or with an SMTP failure line beside the returned mail's headers.
A person who writes "my delivery failed" from their own address is a customer, never a bounce."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import HeaderParser

from core.mail.headers import header, message_ids

DAEMONS = frozenset({"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster"})
_FAILED_SUBJECT = re.compile(
    r"undeliver|returned mail|returned to sender|delivery status notification \(failure\)|failure notice"
    r"|delivery (?:has )?failed|delivery failure|non-?delivery|message not delivered|could not be delivered"
    r"|недоставлен|не доставлен|не может быть доставлен|не удалось доставить|ошибка доставки|возвращ[её]нн",
    re.IGNORECASE,
)
_NOT_FAILED_ACTIONS = frozenset({"delayed", "delivered", "relayed", "expanded"})  # RFC 3464 2.3.3
_NOT_FINAL = re.compile(r"delay|warning|задерж|предупрежд", re.IGNORECASE)  # still being retried
_QUOTED_ID = re.compile(r"^[\s>]*message-?id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
# An SMTP reply in prose: "550 5.1.1 <bob@...>: User unknown", "said: 550 No such user", "'554 ...".
_SMTP_REPLY = re.compile(r"(?<![\w.:\-\[/])([45]\d\d)[ -](?=[245]\.\d{1,3}\.\d{1,3}\b|[^\W\d_]|<|#)")


@dataclass
class DeliveryReport:
    """What a bounce says about the mail it returns."""

    original_ids: list[str] = field(default_factory=list)  # Message-IDs of the returned mail, likeliest first
    status: str = ""  # e.g. "5.1.1 gone@example.com: user unknown"
    kind: str = "dsn"  # dsn (multipart/report) | text (a plain-text non-delivery mail)
    delayed: bool = False  # a notice (not a failure): the server is still trying to deliver


def is_delivery_status(msg: Message) -> bool:
    """A multipart/report about delivery (not a read receipt or an abuse report)."""
    if msg.get_content_type() != "multipart/report":
        return False
    report_type = str(msg.get_param("report-type", "") or "").lower()
    if report_type:
        return report_type == "delivery-status"
    return any(part.get_content_type() == "message/delivery-status" for part in msg.walk())


def only_not_final(msg: Message) -> bool:
    """A delivery report whose every recipient says delayed (still being retried) or delivered:
    no failure to record. A report without Action fields is read as a failure, as before."""
    actions = _actions(msg)
    return bool(actions) and actions <= _NOT_FAILED_ACTIONS


def delivery_notice(msg: Message) -> DeliveryReport:
    """A delivery report that records no failure (see only_not_final): which mail, and whether it is delayed."""
    notice = delivery_report(msg)
    notice.delayed = "delayed" in _actions(msg)
    return notice


def _actions(msg: Message) -> set[str]:
    actions = set()
    for part in msg.walk():
        blocks = part.get_payload() if part.get_content_type() == "message/delivery-status" else None
        for block in blocks if isinstance(blocks, list) else []:
            if isinstance(block, Message) and (action := header(block, "Action").lower()):
                actions.add(action)
    return actions


def delivery_report(msg: Message) -> DeliveryReport:
    """The returned mail's Message-ID (from its attached copy or headers) and the reason it failed."""
    report = DeliveryReport()
    statuses: list[str] = []
    for part in msg.walk():
        try:
            if part.get_content_type() == "message/delivery-status":
                statuses += _statuses(part)
        except Exception as exc:  # a broken report is still a report; its mail is kept as text
            report.status = report.status or f"unreadable report part: {type(exc).__name__}"
    report.original_ids = _attached_ids(msg)
    report.status = ("; ".join(statuses) or report.status)[:500]
    return report


def text_bounce(msg: Message, address: str, subject: str, text: str) -> DeliveryReport | None:
    """A plain-text non-delivery mail from a mail server, or None for anything else."""
    if not _from_a_mail_server(msg, address) or _NOT_FINAL.search(subject):
        return None
    found = _returned_ids(msg, text)
    reason = failure_reason(text)
    if not _FAILED_SUBJECT.search(subject) and not (found and reason.startswith("5")):
        return None
    return DeliveryReport(original_ids=found, status=reason, kind="text")


def text_delay(msg: Message, address: str, subject: str, text: str) -> DeliveryReport | None:
    """A plain-text delay warning from a mail server ("Warning: message delayed 24 hours"), or None."""
    if not _from_a_mail_server(msg, address) or not _NOT_FINAL.search(subject):
        return None
    return DeliveryReport(original_ids=_returned_ids(msg, text), status=failure_reason(text) or subject[:300],
                          kind="text", delayed=True)


def _from_a_mail_server(msg: Message, address: str) -> bool:
    return header(msg, "Return-Path").replace(" ", "") == "<>" or address.split("@")[0] in DAEMONS


def _returned_ids(msg: Message, text: str) -> list[str]:
    found = [*_attached_ids(msg), *_quoted_ids(text), *message_ids(header(msg, "In-Reply-To")),
             *reversed(message_ids(header(msg, "References")))]
    return list(dict.fromkeys(found))


def failure_reason(text: str) -> str:
    """The first permanent SMTP failure the text quotes (with its wrapped continuation lines),
    else the first temporary one, else ""."""
    lines = text.splitlines()
    for wanted in "54":
        for number, line in enumerate(lines):
            found = next((m for m in _SMTP_REPLY.finditer(line) if m.group(1).startswith(wanted)), None)
            if found is None:
                continue
            parts = [line[found.start():]]
            for more in lines[number + 1 : number + 4]:
                if not more[:1].isspace() or not more.strip() or _SMTP_REPLY.match(more.strip()):
                    break
                parts.append(more)
            return " ".join(" ".join(parts).split()).strip("'\"")[:300]
    return ""


def _statuses(part: Message) -> list[str]:
    blocks = part.get_payload()
    found = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, Message) or not header(block, "Status"):
            continue
        recipient = header(block, "Final-Recipient").split(";")[-1].strip()
        found.append(" ".join(v for v in (header(block, "Status"), recipient, header(block, "Diagnostic-Code")) if v))
    return found


def _attached_ids(msg: Message) -> list[str]:
    """Message-IDs of returned mail attached whole (message/rfc822) or as headers (text/rfc822-headers)."""
    found: list[str] = []
    for part in msg.walk():
        try:
            ctype = part.get_content_type()
            if ctype == "message/rfc822":
                inner = part.get_payload()
                original = inner[0] if isinstance(inner, list) and inner else None
                if isinstance(original, Message):
                    found += message_ids(header(original, "Message-ID"))
            elif ctype == "text/rfc822-headers":
                data = part.get_payload(decode=True)
                text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(part.get_payload())
                found += message_ids(header(HeaderParser(policy=policy.default).parsestr(text), "Message-ID"))
        except Exception:  # noqa: S112 — a broken part names nothing; the others may
            continue
    return found


def _quoted_ids(text: str) -> list[str]:
    """Message-ID lines of the returned mail's headers quoted in the bounce's text."""
    return [found.group(1)[:998] for found in _QUOTED_ID.finditer(text)]
