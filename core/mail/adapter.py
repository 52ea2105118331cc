"""E-mail as core's registry sees it: a `ChannelAdapter` like any other channel's, attached by the
mail runtime, so the outbox worker takes the `email` channel from `desk.channels.deliverers()`.

- parse: the raw mail as core/mail keeps it (`raw_of(bytes)`: the RFC 5322 bytes, base64 in JSON)
  into the `Inbound` intake stores (`core/mail/parse`, files into the attachment store);
- render: dialogue answers into one plain-text mail body. Mail has no buttons: a button's label is
  listed as a bullet line, and an article's links are written out with their addresses, so the
  customer can still read and follow everything the answer offered;
- deliver: the SMTP outbox channel (`EmailChannel`), when sending is configured.
"""

from __future__ import annotations

import base64
from typing import Any

from core.channels import ChannelAdapter, ChannelSpec, Parsed
from core.dialogue.answers import Answer
from core.mail.files import store_files
from core.mail.intake import mail_inbound
from core.mail.parse import parse_mail
from core.mail.smtp import EmailChannel
from core.services.conversations import Inbound
from core.storage import AttachmentStore

RAW_KEY = "rfc822"


def raw_of(data: bytes) -> dict[str, Any]:
    """A mail's bytes in the JSON form its parser takes back."""
    return {RAW_KEY: base64.b64encode(data).decode("ascii")}


def render(answers: list[Answer], language: str = "") -> str:
    """Answers as one plain-text mail body, blocks separated by a blank line. An answer to a pressed
    button (`ack`) has no place in a mail and is left out."""
    blocks: list[str] = []
    for answer in answers:
        if answer.ack:
            continue
        if answer.article is not None:
            article = answer.article
            blocks.append(f"{article.title}\n\n{article.body.strip()}")
            if article.links:
                blocks.append("\n".join([article.links_heading, *(f"- {link.title}: {link.url}"
                                                                  for link in article.links)]).strip())
        elif answer.text:
            blocks.append(answer.text)
        labels = [button.label for row in answer.buttons for button in row]
        if labels:
            blocks.append("\n".join(f"- {label}" for label in labels))
    return "\n\n".join(blocks)


def email_adapter(spec: ChannelSpec, storage: AttachmentStore, mailbox: str,
                  channel: EmailChannel | None) -> ChannelAdapter:
    """The adapter for the `email` spec. `mailbox` names the IMAP mailbox that keys stored mails
    (empty where this process reads none)."""
    async def parse(raw: dict[str, Any], language: str) -> Parsed:
        mail = parse_mail(base64.b64decode(raw[RAW_KEY]))
        files = await store_files(storage, mail)
        inbound: Inbound = mail_inbound(mail, files, mailbox, reused=False)
        return Parsed(inbound)

    return ChannelAdapter(spec=spec, parse=parse, render=render, deliver=channel)
