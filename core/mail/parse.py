"""Raw RFC 5322 bytes to what a ticket needs. Never raises on bad input: it keeps what it can read
and lists what it could not in `problems`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser

import html2text

from core.mail.bounce import (
    DeliveryReport,
    delivery_notice,
    delivery_report,
    is_delivery_status,
    only_not_final,
    text_bounce,
    text_delay,
)
from core.mail.headers import auto_reason, header, language, message_ids, sender

CALENDAR_NAME = "invite.ics"


@dataclass(frozen=True)
class MailFile:
    file_name: str
    content_type: str
    data: bytes
    content_id: str | None = None  # the part's Content-ID as the mail wrote it ("<logo@host>"), if any


@dataclass
class ParsedMail:
    message_id: str
    subject: str
    address: str
    name: str
    text: str
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    files: list[MailFile] = field(default_factory=list)
    language: str | None = None
    auto: str | None = None
    html_only: bool = False
    problems: list[str] = field(default_factory=list)
    report: DeliveryReport | None = None  # set for a bounce (a delivery-status report or its plain-text kin)
    notice: DeliveryReport | None = None  # a server's notice that is no failure: delayed, or delivered
    fingerprint: str = ""  # what makes two mails under one Message-ID the same mail (see `fingerprint`)

    @property
    def thread_ids(self) -> list[str]:
        """Ids this mail answers, nearest first."""
        return [*self.in_reply_to, *reversed(self.references)]


def parse_mail(raw: bytes) -> ParsedMail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    address, name = sender(msg)
    ids = message_ids(header(msg, "Message-ID"))
    parsed = ParsedMail(
        message_id=ids[0] if ids else stable_id(raw),
        subject=header(msg, "Subject")[:512],
        address=address,
        name=name,
        text="",
        in_reply_to=message_ids(header(msg, "In-Reply-To")),
        references=message_ids(header(msg, "References")),
        language=language(msg),
        auto=auto_reason(msg, address),
    )
    if not ids:
        parsed.problems.append("no Message-ID")
    if msg.defects:
        parsed.problems.append("defects: " + ", ".join(sorted({type(d).__name__ for d in msg.defects}))[:300])
    _Collector(parsed).walk(msg)
    if is_delivery_status(msg):
        if only_not_final(msg):
            parsed.notice = delivery_notice(msg)
        else:
            parsed.report = delivery_report(msg)
    elif (bounce := text_bounce(msg, address, parsed.subject, parsed.text)) is not None:
        parsed.report = bounce
    else:
        parsed.notice = text_delay(msg, address, parsed.subject, parsed.text)
    parsed.fingerprint = fingerprint(parsed, header(msg, "Date"))
    return parsed


def fingerprint(mail: ParsedMail, date: str) -> str:
    """The same mail is the same Message-ID, sender, Date, Subject, text and files. A redelivered
    copy differs only in trace headers (Received, Delivered-To, DKIM) or in transfer encoding, so
    it is the same; a different mail that reuses another's Message-ID (a buggy mailer, a template)
    is not, and must not vanish as a duplicate."""
    digest = hashlib.sha256()
    for part in (mail.message_id, mail.address, " ".join(date.split()), " ".join(mail.subject.split()),
                 " ".join(mail.text.split())):
        digest.update(part.encode("utf-8", "replace") + b"\0")
    for item in mail.files:
        digest.update(item.file_name.encode("utf-8", "replace") + b"\0" + hashlib.sha256(item.data).digest())
    return digest.hexdigest()


def stable_id(raw: bytes) -> str:
    """A Message-ID for a mail without one: the same bytes always give the same id."""
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@desk.invalid>"


class _Collector:
    def __init__(self, parsed: ParsedMail) -> None:
        self.parsed = parsed
        self.plain: list[str] = []
        self.html: list[str] = []

    def walk(self, msg: Message) -> None:
        self._visit(msg, depth=0)
        if self.plain:
            self.parsed.text = "\n\n".join(part for part in self.plain if part.strip())
        elif self.html:
            self.parsed.text = "\n\n".join(html_to_text(part) for part in self.html)
            self.parsed.html_only = True
        self.parsed.text = self.parsed.text.replace("\x00", "").strip()

    def _visit(self, part: Message, depth: int) -> None:
        if depth > 64:
            self.parsed.problems.append("MIME nesting too deep")
            return
        ctype = part.get_content_type()
        if part.is_multipart() and ctype != "message/rfc822":
            payload = part.get_payload()
            for child in payload if isinstance(payload, list) else []:
                if isinstance(child, Message):
                    self._visit(child, depth + 1)
            return
        disposition = (part.get_content_disposition() or "").lower()
        file_name = self._file_name(part)
        if ctype == "message/rfc822":
            self._keep(part, file_name or "forwarded.eml", ctype, _bytes_of_message(part))
        elif ctype == "text/calendar":
            self._keep(part, file_name or CALENDAR_NAME, ctype, _payload(part))
        elif disposition == "attachment" or (file_name and not ctype.startswith("text/")):
            self._keep(part, file_name or "attachment.bin", ctype, _payload(part))
        elif ctype == "text/plain":
            self.plain.append(self._text(part))
        elif ctype == "text/html":
            self.html.append(self._text(part))
        elif ctype.startswith("text/"):
            self._keep(part, file_name or "part.txt", "text/plain", _payload(part))
        elif ctype.startswith("multipart/"):  # a multipart without a usable boundary: read it as text
            self.plain.append(self._text(part))
        else:
            self._keep(part, file_name or "attachment.bin", ctype, _payload(part))

    def _file_name(self, part: Message) -> str:
        try:
            name = part.get_filename() or ""
        except Exception:
            name = ""
        return name.replace("/", "_").replace("\\", "_").replace("\x00", "").strip()[:255]

    def _keep(self, part: Message, file_name: str, content_type: str, data: bytes) -> None:
        self.parsed.files.append(MailFile(file_name, content_type, data, content_id(part)))

    def _text(self, part: Message) -> str:
        data = _payload(part)
        charset = (part.get_content_charset() or "utf-8").strip().lower()
        try:
            return data.decode(charset).replace("\r\n", "\n")
        except LookupError:
            self.parsed.problems.append(f"unknown charset {charset[:40]}")
        except UnicodeDecodeError:
            self.parsed.problems.append(f"text is not valid {charset[:40]}")
        return guess_decode(data).replace("\r\n", "\n")


def content_id(part: Message) -> str | None:
    """A part's Content-ID (what an HTML body's `cid:` link and the e-mail channel call the file):
    the first <id> of the header, else its bare text when a mailer left the brackets out."""
    value = header(part, "Content-ID")
    ids = message_ids(value)
    return (ids[0] if ids else value.strip()[:255]) or None


def guess_decode(data: bytes) -> str:
    """Undeclared or wrongly declared 8-bit text: UTF-8 if it is, else Cyrillic when most letters
    are 8-bit (Russian in cp1251), else Western European."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    high = sum(1 for byte in data if byte >= 0xC0)
    ascii_letters = sum(1 for byte in data if 65 <= byte <= 90 or 97 <= byte <= 122)
    return data.decode("cp1251" if high > ascii_letters else "cp1252", errors="replace")


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def _bytes_of_message(part: Message) -> bytes:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    try:
        return inner.as_bytes(policy=policy.compat32) if isinstance(inner, Message) else _payload(part)
    except Exception:
        return str(inner).encode("utf-8", "replace")


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = False
    converter.unicode_snob = True
    try:
        return converter.handle(html).strip()
    except Exception:
        return html
