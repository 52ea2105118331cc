"""Telegram's flood limits in the sandbox (on in the product, on here by the test): a burst of operator
replies to one chat meets 429 with retry_after, and the bot (aiogram + the outbox) still delivers every
reply, in order."""

from __future__ import annotations

from core.services.conversations import operator_replied
from tests.bot.flows import hand_off
from tests.botapi import TelegramServer
from web.sandbox.limits import RateLimits


async def test_a_burst_to_one_chat_meets_429_and_every_reply_still_arrives_in_order(
        telegram: TelegramServer, desk_bot, sessions, operator) -> None:  # type: ignore[no-untyped-def]
    await desk_bot(telegram_rate_per_chat=50.0)  # the bot's own pacing off: Telegram's 429 must do it
    anna = telegram.user("Anna")
    ticket_id = await hand_off(telegram, anna, "/human")
    telegram.limits = RateLimits()
    mark = telegram.mark()
    async with sessions() as session, session.begin():
        for n in range(6):
            await operator_replied(session, ticket_id=ticket_id, operator=operator, body=f"part {n}")

    def delivered() -> list[str]:
        return [c.text for c in telegram.calls[mark:] if c.ok and c.method == "sendMessage" and "part" in c.text]

    await telegram.wait_until(lambda: len(delivered()) == 6, timeout=30)
    assert [next(f"part {n}" for n in range(6) if f"part {n}" in text) for text in delivered()] == [
        f"part {n}" for n in range(6)]
    refused = [c for c in telegram.calls[mark:] if c.status == 429]
    assert refused, "the burst never met Telegram's limit"
    assert all(c.method == "sendMessage" and c.chat_id == anna.id for c in refused)


async def test_a_press_whose_reply_meets_429_waits_it_out_and_sends_once(
        telegram: TelegramServer, desk_bot, sessions) -> None:  # type: ignore[no-untyped-def]
    """The press is answered, then its message meets 429: the handler waits `retry_after` out in place
    (the update is not handled again, so nothing it sent goes twice) and the message goes out once."""
    from sqlalchemy import func, select

    from bot.callbacks import MenuCb
    from core.models import DeadLetter
    from core.orders import stores

    await desk_bot()
    async with sessions() as session, session.begin():
        store = await stores.create_store(session, name="Pizza Roma")
        await stores.add_product(session, store_id=store.id, name="Margherita", price_minor=55000)
    rita = telegram.user("Rita")
    await telegram.send(rita, "/start")
    menu = await telegram.wait_for_call("sendMessage", lambda c: c.chat_id == rita.id, timeout=20)
    mark = telegram.mark()
    telegram.fail("sendMessage", 429, retry_after=1, match=lambda params: "store" in str(params.get("text")))
    await telegram.press(rita, menu, MenuCb(action="order").pack())
    await telegram.wait_for_call("sendMessage", lambda c: "Choose a store" in c.text, since=mark, timeout=20)
    await telegram.settled()
    answers = [c for c in telegram.calls[mark:] if c.method == "answerCallbackQuery"]
    assert [c.ok for c in answers] == [True]  # handled once: the press answered once
    refused, sent = [c for c in telegram.calls[mark:] if c.method == "sendMessage" and "store" in c.text][:2]
    assert not refused.ok and sent.ok and sent.at - refused.at >= 0.9, "sent again after retry_after"
    assert len([c for c in telegram.sent_to(rita.id)[1:] if "Choose a store" in c.text]) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DeadLetter)) == 0
