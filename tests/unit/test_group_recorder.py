"""The outbox's group recorder: outcomes that end while a write runs go together in the next write, and
each caller learns what became of its own outcome, also when another caller's write carried it."""

from __future__ import annotations

import asyncio

from core.outbox import Delivery, GroupRecorder, Outcome


def outcome(number: int) -> Outcome:
    return Outcome(Delivery(number, "text", {}, 1, None, "test"), "sent")


async def test_outcomes_that_end_during_a_write_go_in_one_next_write() -> None:
    gate, writes = asyncio.Event(), []

    async def write(outcomes: list[Outcome]) -> None:
        writes.append([o.delivery.id for o in outcomes])
        if len(writes) == 1:
            await gate.wait()

    recorder = GroupRecorder(write)
    first = asyncio.create_task(recorder.record(outcome(1)))
    await asyncio.sleep(0)
    others = [asyncio.create_task(recorder.record(outcome(n))) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *others)
    assert writes == [[1], [2, 3, 4]]


async def test_a_failed_write_fails_every_outcome_it_carried_and_later_ones_still_get_written() -> None:
    gate, writes = asyncio.Event(), []

    async def write(outcomes: list[Outcome]) -> None:
        writes.append([o.delivery.id for o in outcomes])
        if len(writes) == 1:
            await gate.wait()
        elif len(writes) == 2:
            raise ConnectionError("the write broke")

    recorder = GroupRecorder(write)
    first = asyncio.create_task(recorder.record(outcome(1)))
    await asyncio.sleep(0)
    carried = [asyncio.create_task(recorder.record(outcome(n))) for n in (2, 3)]
    await asyncio.sleep(0)
    gate.set()
    await first
    results = await asyncio.gather(*carried, return_exceptions=True)
    assert writes == [[1], [2, 3]]
    assert [type(r) for r in results] == [ConnectionError, ConnectionError], "no outcome is silently dropped"
    await recorder.record(outcome(5))
    assert writes[-1] == [5]

