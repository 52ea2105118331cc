"""Pure rules of the email channel: our Message-IDs, subjects, machine-made mail, languages."""

from __future__ import annotations

import pytest

from core.mail import ids
from core.mail.compose import Outgoing, compose, render_html
from core.mail.parse import parse_mail
from core.settings import SettingsError, load_settings
from tests.mail.conftest import mail


def test_our_message_ids_lead_back_to_their_ticket() -> None:
    assert ids.ticket_of_our_id(ids.reply_id(41, 7, "desk.test")) == 7
    assert ids.ticket_of_our_id(ids.notice_id(5, 9, "desk.test")) == 9
    assert ids.ticket_of_our_id(ids.notice_id(5, None, "desk.test")) is None
    assert ids.ticket_of_our_id("<desk.m41.t7@elsewhere.test>") == 7
    assert ids.ticket_of_our_id("<CAF=abc@mail.gmail.com>") is None


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Printer", "Re: [#12] Printer"),
        ("Re: RE: Fwd: Printer", "Re: [#12] Printer"),
        ("Re: [#12] Printer", "Re: [#12] Printer"),
        ("Ответ: Принтер", "Re: [#12] Принтер"),
        ("", "Re: [#12]"),
    ],
)
def test_reply_subject_carries_the_ticket_number_once(subject: str, expected: str) -> None:
    assert ids.reply_subject(12, subject) == expected


def test_same_message_id_in_two_mailboxes_or_of_two_mails_is_two_keys() -> None:
    assert ids.external_key("a@x/inbox", "<m@x>", "f1") != ids.external_key("b@x/inbox", "<m@x>", "f1")
    assert ids.external_key("a@x/inbox", "<m@x>", "f1") != ids.external_key("a@x/inbox", "<m@x>", "f2")
    assert ids.external_key("a@x/inbox", "<m@x>", "f1") == ids.external_key("a@x/inbox", "<m@x>", "f1")


@pytest.mark.parametrize(
    ("extra", "sender", "auto"),
    [
        ("Auto-Submitted: auto-generated", "a@example.com", "auto-submitted: auto-generated"),
        ("Auto-Submitted: no", "a@example.com", None),
        ("Precedence: junk", "a@example.com", "precedence: junk"),
        ("X-Autoreply: yes", "a@example.com", "x-autoreply"),
        ("", "Mailer-Daemon@example.com", "mailer-daemon"),
        ("Return-Path: <>", "a@example.com", "bounce (empty return path)"),
        ("", "a@example.com", None),
    ],
)
def test_machine_made_mail_is_recognised(extra: str, sender: str, auto: str | None) -> None:
    assert parse_mail(mail(sender=sender, extra=extra)).auto == auto


@pytest.mark.parametrize(
    ("extra", "language"),
    [("Content-Language: ru-RU", "ru"), ("Accept-Language: de-DE, ru;q=0.8", "ru"),
     ("Content-Language: de", None), ("", None)],
)
def test_language_comes_from_the_mails_headers(extra: str, language: str | None) -> None:
    assert parse_mail(mail(extra=extra)).language == language


def test_outgoing_mail_cannot_be_split_by_a_subject_with_line_breaks() -> None:
    out = Outgoing(to="a@example.com", subject="Hi\r\nBcc: victim@example.com", text="<b>x</b>",
                   message_id="<desk.m1.t1@desk.test>")
    message = compose(out, "Desk <support@desk.test>", None)
    assert message["Bcc"] is None and message["Subject"] == "Hi Bcc: victim@example.com"
    assert "&lt;b&gt;x&lt;/b&gt;" in render_html(out.text)


def test_smtp_without_a_sender_address_is_a_clear_configuration_error() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, smtp_host="smtp.example.com")
    assert "SMTP_FROM" in str(caught.value)
