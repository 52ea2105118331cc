"""An outgoing mail: threading headers, a text part with an HTML alternative, attachments."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate

from core.mail.parse import MailFile


@dataclass(frozen=True)
class Outgoing:
    to: str
    subject: str
    text: str
    message_id: str
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    auto_submitted: bool = False
    files: list[MailFile] = field(default_factory=list)


def compose(out: Outgoing, sender: str, reply_to: str | None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _one_line(sender)
    msg["To"] = _one_line(out.to)
    if reply_to:
        msg["Reply-To"] = _one_line(reply_to)
    msg["Subject"] = _one_line(out.subject)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = out.message_id
    if out.in_reply_to:
        msg["In-Reply-To"] = out.in_reply_to
    if out.references:
        msg["References"] = " ".join(_trim(out.references))
    if out.auto_submitted:  # RFC 3834: other desks and vacation responders must not answer this
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(out.text or " ")
    msg.add_alternative(render_html(out.text), subtype="html")
    for item in out.files:
        maintype, _, subtype = item.content_type.partition("/")
        msg.add_attachment(item.data, maintype=maintype or "application", subtype=subtype or "octet-stream",
                           filename=item.file_name)
    return msg


def render_html(text: str) -> str:
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!doctype html><html><body style="font-family:sans-serif">{body}</body></html>'


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _trim(references: list[str]) -> list[str]:
    """The first id (the thread's root) and the latest ones: long threads stay under header limits."""
    unique = list(dict.fromkeys(references))
    return unique if len(unique) <= 10 else [unique[0], *unique[-9:]]
