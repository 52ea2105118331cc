"""E-mail is an attached adapter like any other channel: the worker takes its outbox channel from the
registry, its parser gives the `Inbound` intake stores, its renderer writes answers as a mail body."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.dialogue.answers import Action, Answer, ArticleView, Button, Link
from core.mail.adapter import raw_of, render
from core.mail.files import store_files
from core.mail.intake import mail_inbound
from core.mail.parse import parse_mail
from core.settings import load_settings
from desk import _start, build_desk
from tests.mail.conftest import mail
from tests.mail.servers import PASSWORD, USER, ImapTestServer, SmtpSink


async def test_the_worker_takes_the_email_channel_from_the_registry_and_the_parser_matches_intake(
    imap_server: ImapTestServer, smtp_sink: SmtpSink, database_url: str, tmp_path: Path,
    sessions: async_sessionmaker[AsyncSession],  # wipes the rows after the test
) -> None:
    settings = load_settings(
        _env_file=None, desk_data_dir=tmp_path, imap_host="127.0.0.1", imap_port=imap_server.port, imap_user=USER,
        imap_password=PASSWORD, imap_security="plain", smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
        smtp_security="plain", smtp_from="Desk <support@desk.test>",
    )
    desk = build_desk(settings, database_url)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(desk.engine.dispose)
        await _start(desk, {"worker"}, stack)
        adapter = desk.channels.adapter("email")
        assert desk.outbox is not None and desk.outbox.channels["email"] is adapter.deliver
        await imap_server.append(mail(sender="Dan <dan@example.com>", message_id="<a1@example.com>"))
        await asyncio.wait_for(smtp_sink.handler.arrived.wait(), 15)  # the acknowledgement, sent by that worker
        raw = mail(sender="Eve <eve@example.com>", message_id="<a2@example.com>", body="Paper jam.")
        parsed = await adapter.parse(raw_of(raw), "en")
    files = await store_files(desk.storage, parse_mail(raw))
    expected = mail_inbound(parse_mail(raw), files, f"{USER}@127.0.0.1/inbox", reused=False)
    assert smtp_sink.handler.received[0]["To"] == "dan@example.com"
    assert parsed.inbound == expected and parsed.notices == ()
    assert (parsed.inbound.body, parsed.inbound.channel_refs) == ("Paper jam.", {"email": ["<a2@example.com>"]})


def test_answers_render_as_a_plain_text_mail_body_with_buttons_as_a_list() -> None:
    answers = [
        Answer(text="Thanks, noted.", ack=True),
        Answer(text="Pick a topic:", buttons=((Button("Billing", Action("handoff.topic", ("billing",))),),
                                              (Button("Other", Action("handoff.topic", ("other",))),))),
        Answer(article=ArticleView(7, "Reset a password", "Open **Settings**.",
                                   (Link("Help centre", "https://help.test/reset"),), "Links:"),
               buttons=((Button("It helped", Action("kb.helped", (7,))),),)),
    ]
    assert render(answers, "en") == (
        "Pick a topic:\n\n- Billing\n- Other\n\n"
        "Reset a password\n\nOpen **Settings**.\n\nLinks:\n- Help centre: https://help.test/reset\n\n- It helped"
    )
