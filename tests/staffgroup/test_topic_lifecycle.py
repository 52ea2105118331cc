"""A topic under load and faults: bursts within the group's limit, a deleted topic, close and reopen, and a
ticket of another channel answered from its topic."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from core.mail.poller import MailPoller
from core.mail.smtp import EmailChannel
from core.models import Ticket
from core.outbox import Backoff, OutboxWorker
from core.services.conversations import NewAttachment, operator_replied, record_delivery
from core.staffgroup.topics import reply_outcome
from core.storage import AttachmentStore
from tests.botapi import TelegramServer, TgGroup
from tests.mail.conftest import mail
from tests.mail.servers import ImapTestServer, SmtpSink
from tests.mail.test_threading import _sync_once
from tests.staffgroup.conftest import Staff
from tests.staffgroup.flows import link, ticket_in_topic, topic_of, wait_in_topic
from tests.waiting import eventually
from web.sandbox.limits import RateLimits


def _topic_texts(telegram: TelegramServer, group: TgGroup, thread_id: int) -> list[str]:
    """What the topic shows now (edits included), oldest message first."""
    return [m.get("text", "") for (chat, _), m in sorted(telegram.messages.items())
            if chat == group.id and m.get("message_thread_id") == thread_id]


async def test_a_burst_of_100_messages_is_one_post_edited_in_place_without_429(
    telegram: TelegramServer, desk_bot, sessions, staff: Staff,
) -> None:
    anna, ticket_id, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff, customer_rate_per_minute=1000)
    await wait_in_topic(telegram, staff.group, topic.thread_id, f"Ticket #{ticket_id}")
    await telegram.settled()
    telegram.limits = RateLimits()  # Telegram's: 1/s per chat, 20/minute into a group (edits too), 30/s overall
    mark = telegram.mark()
    for n in range(100):
        await telegram.send(anna, f"line {n:03d} " + "x" * 80)  # about 10,000 characters in all

    def everything_shown() -> bool:
        shown = "\n".join(_topic_texts(telegram, staff.group, topic.thread_id))
        return all(f"line {n:03d}" in shown for n in range(100))

    await telegram.wait_until(everything_shown, timeout=90)
    shown = "\n".join(_topic_texts(telegram, staff.group, topic.thread_id))
    assert [shown.index(f"line {n:03d}") for n in range(100)] == sorted(shown.index(f"line {n:03d}")
                                                                      for n in range(100))
    assert all(shown.count(f"line {n:03d}") == 1 for n in range(100))  # nothing twice, nothing lost
    posts = [c for c in telegram.calls[mark:] if c.ok and c.method == "sendMessage" and c.chat_id == staff.group.id]
    edits = [c for c in telegram.calls[mark:] if c.ok and c.method == "editMessageText"
             and c.chat_id == staff.group.id]
    refused = [c for c in telegram.calls[mark:] if c.status == 429]
    print(f"\n100 customer messages -> {len(posts)} posts and {len(edits)} edits in the topic, {len(refused)} "
          f"answered 429")
    assert 3 <= len(posts) <= 6 and len(refused) <= 1  # a new post only once one is full (4096 characters)
    assert all(len(c.text) <= 4096 for c in posts + edits)
    assert len(posts) + len(edits) <= 25  # paced: a few calls, each carrying many lines


async def test_a_note_between_starts_a_new_post(telegram: TelegramServer, desk_bot, sessions, staff: Staff) -> None:
    anna, _, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff)
    await telegram.send(anna, "first line")
    first = await wait_in_topic(telegram, staff.group, topic.thread_id, "first line")
    await telegram.send(anna, "second line")
    appended = await telegram.wait_for_call("editMessageText", lambda c: "second line" in c.text, timeout=10)
    assert appended.params["message_id"] == first.result["message_id"] and "first line" in appended.text
    await telegram.post(staff.operator_user, staff.group, "!checking the logs", thread_id=topic.thread_id)
    await telegram.settled()
    await telegram.send(anna, "third line")
    third = await wait_in_topic(telegram, staff.group, topic.thread_id, "third line")  # a post of its own
    assert "second line" not in third.text and third.result["message_id"] > first.result["message_id"]


async def test_a_deleted_topic_is_made_again_with_a_summary(telegram: TelegramServer, desk_bot, sessions,
                                                            staff: Staff) -> None:
    anna, ticket_id, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff)
    await telegram.send(anna, "the first question")
    await wait_in_topic(telegram, staff.group, topic.thread_id, "the first question")
    telegram.delete_topic(staff.group, topic.thread_id)  # staff deleted it
    await telegram.send(anna, "are you there?")
    await telegram.wait_until(lambda: len(telegram.calls_of("createForumTopic")) == 2, timeout=10)

    async def moved() -> bool:
        return (await topic_of(sessions, ticket_id)).thread_id != topic.thread_id

    await eventually(moved, timeout=10)
    again = await topic_of(sessions, ticket_id)
    assert again.recreated == 1
    await wait_in_topic(telegram, staff.group, again.thread_id, f"Ticket #{ticket_id}")
    summary = await wait_in_topic(telegram, staff.group, again.thread_id, "was deleted")
    assert "the first question" in summary.text
    await wait_in_topic(telegram, staff.group, again.thread_id, "are you there?")


async def test_closing_from_the_card_closes_the_topic_and_a_reopen_reopens_it(telegram: TelegramServer, desk_bot,
                                                                              sessions, staff: Staff) -> None:
    anna, ticket_id, topic = await ticket_in_topic(telegram, desk_bot, sessions, staff)
    card = await wait_in_topic(telegram, staff.group, topic.thread_id, f"Ticket #{ticket_id}")
    await telegram.press(staff.operator_user, card, card.button("Assign to me")["callback_data"])
    await telegram.press(staff.operator_user, card, card.button("Close")["callback_data"])
    await telegram.wait_for_call("closeForumTopic", lambda c: c.params["message_thread_id"] == topic.thread_id,
                                 timeout=10)
    assert telegram.topic_of(staff.group, topic.thread_id)["closed"] is True
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("closed", staff.operator.id)
    mark = telegram.mark()
    await telegram.post(staff.operator_user, staff.group, "one more answer", thread_id=topic.thread_id)
    told = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == staff.group.id, since=mark)
    assert "closed" in told.text and told.params.get("message_thread_id") == topic.thread_id
    assert not [c for c in telegram.sent_to(anna.id) if "one more answer" in c.text]
    await telegram.send(anna, "one more thing")  # within the reopen window
    await telegram.wait_for_call("reopenForumTopic", lambda c: c.params["message_thread_id"] == topic.thread_id,
                                 timeout=10)
    assert telegram.topic_of(staff.group, topic.thread_id)["closed"] is False
    await wait_in_topic(telegram, staff.group, topic.thread_id, "one more thing")


async def test_an_email_ticket_answered_from_its_topic_goes_out_by_email(
    telegram: TelegramServer, desk_bot, sessions, staff: Staff, imap_server: ImapTestServer,
    make_poller: Callable[..., MailPoller], smtp_sink: SmtpSink, channel: EmailChannel, storage: AttachmentStore,
) -> None:
    await desk_bot()
    await link(telegram, staff.admin_user, staff.group)
    await imap_server.append(mail(subject="Printer is broken", body="It does not print.",
                                  message_id="<p1@example.com>"))
    await _sync_once(make_poller(acknowledge=False))
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.channel == "email"))
    topic = await topic_of(sessions, ticket.id)
    card = await wait_in_topic(telegram, staff.group, topic.thread_id, f"Ticket #{ticket.id}")
    assert "E-mail" in card.text or "mail" in card.text.lower()
    await wait_in_topic(telegram, staff.group, topic.thread_id, "It does not print.")
    written = await telegram.post(staff.operator_user, staff.group, "Please restart it.", thread_id=topic.thread_id)
    await telegram.settled()
    mailer = OutboxWorker(sessions, {"email": channel}, backoff=Backoff(base=0.01, cap=0.05, max_attempts=5),
                          on_outcome=[record_delivery, reply_outcome])

    async def mailed() -> bool:
        await mailer.run_once()
        return len(smtp_sink.handler.received) == 1

    await eventually(mailed, timeout=10)
    sent = smtp_sink.handler.received[0]
    assert sent["To"] == "alice@example.com" and f"[#{ticket.id}]" in sent["Subject"]
    body = sent.get_body(preferencelist=("plain",))
    assert body is not None and "Please restart it." in body.get_content()  # as the panel's replies go
    await telegram.wait_until(lambda: (staff.group.id, written["message_id"]) in telegram.reactions, timeout=10)

    stored = await storage.save(b"%PDF-1.4 the manual", "manual.pdf", "application/pdf")  # a panel reply with a file
    async with sessions() as session, session.begin():
        await operator_replied(session, ticket_id=ticket.id, operator=staff.admin, body="The manual is attached",
                               attachments=(NewAttachment("manual.pdf", "application/pdf", stored.size,
                                                          stored.sha256, stored.storage_key),))
    uploaded = await telegram.wait_for_call(
        "sendDocument", lambda c: c.chat_id == staff.group.id and c.params.get("message_thread_id") == topic.thread_id,
        timeout=10)
    assert uploaded.files["document"].data == b"%PDF-1.4 the manual"  # no Telegram id for it: uploaded
