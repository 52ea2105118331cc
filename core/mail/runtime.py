"""Builds the email channel's parts from settings for the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from core.context import Desk
from core.mail.adapter import email_adapter
from core.mail.channel_spec import NAME
from core.mail.imap import ImapConfig
from core.mail.intake import IntakeOptions
from core.mail.poller import COMPONENT, MailPoller
from core.mail.smtp import EmailChannel, SmtpConfig
from core.settings import Settings


@dataclass
class MailParts:
    channel: EmailChannel | None
    poller: MailPoller | None


def smtp_config(settings: Settings) -> SmtpConfig:
    assert settings.smtp_host
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from or settings.smtp_user or "",
        user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        security=settings.smtp_security,
        reply_to=settings.smtp_reply_to,
        timeout=settings.smtp_timeout_seconds,
        ca_file=str(settings.mail_ca_file) if settings.mail_ca_file else None,
    )


def imap_config(settings: Settings) -> ImapConfig:
    assert settings.imap_host and settings.imap_user and settings.imap_password
    return ImapConfig(
        host=settings.imap_host,
        port=settings.imap_port,
        user=settings.imap_user,
        password=settings.imap_password.get_secret_value(),
        security=settings.imap_security,
        folder=settings.imap_folder,
        ca_file=str(settings.mail_ca_file) if settings.mail_ca_file else None,
    )


def own_addresses(settings: Settings) -> frozenset[str]:
    found = {parseaddr(value or "")[1].lower() for value in (settings.smtp_from, settings.smtp_reply_to)}
    if settings.imap_user and "@" in settings.imap_user:
        found.add(settings.imap_user.lower())
    return frozenset(address for address in found if "@" in address)


def intake_options(settings: Settings, mailbox: str) -> IntakeOptions:
    return IntakeOptions(
        mailbox=mailbox,
        own_addresses=own_addresses(settings),
        reopen_window_hours=settings.reopen_window_hours,
        acknowledge=settings.mail_ack and settings.mail_out_enabled,
        default_language=settings.mail_default_language,
    )


def build_poller(desk: Desk) -> MailPoller:
    settings = desk.settings
    imap = imap_config(settings)
    options = intake_options(settings, imap.mailbox)
    return MailPoller(
        sessions=desk.sessions, dsn=desk.dsn, storage=desk.storage, translator=desk.translator, imap=imap,
        options=options, poll_seconds=settings.imap_poll_seconds, max_bytes=settings.mail_max_bytes,
        retry_max=settings.imap_retry_max_seconds, status=desk.components,
    )


def build_mail(desk: Desk) -> MailParts:
    """The mail parts, and the e-mail adapter attached to `desk.channels` (its outbox channel is what
    the worker takes from `desk.channels.deliverers()`, as every channel's)."""
    settings = desk.settings
    channel = EmailChannel(desk.sessions, desk.storage, smtp_config(settings)) if settings.mail_out_enabled else None
    poller = build_poller(desk) if settings.mail_in_enabled else None
    if poller is None:
        desk.components[COMPONENT] = "off"
    mailbox = poller.mailbox if poller is not None else ""
    desk.channels.attach(email_adapter(desk.channels.get(NAME), desk.storage, mailbox, channel))
    return MailParts(channel, poller)
