"""The SLA watch and the housekeeping jobs, added to the leader scheduler by the composition root."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from core.context import Desk
from core.jobs.autoclose import AutoClose
from core.jobs.prune import PruneEvents, RemoveOrphanFiles
from core.jobs.ratings import RatingRequests
from core.scheduler import Job
from core.sla.clock import SYSTEM_CLOCK, Clock
from core.sla.watch import SlaWatch

PRUNE_SECONDS = 3600.0


class Runner(Protocol):
    async def run(self) -> object: ...


def _job(runner: Runner) -> Job:
    async def run() -> None:
        await runner.run()

    return run


def register_sla_jobs(desk: Desk, clock: Clock = SYSTEM_CLOCK) -> None:
    settings = desk.settings
    watch = SlaWatch(desk.sessions, desk.translator, clock=clock,
                     warn_before=timedelta(minutes=settings.sla_warn_minutes))
    desk.scheduler.add("sla.watch", _job(watch), settings.sla_watch_seconds)
    if settings.autoclose_days > 0:
        autoclose = AutoClose(desk.sessions, desk.translator, after=timedelta(days=settings.autoclose_days),
                              notice_before=timedelta(hours=settings.autoclose_notice_hours), clock=clock)
        desk.scheduler.add("housekeeping.autoclose", _job(autoclose), settings.housekeeping_seconds)
    ratings = RatingRequests(desk.sessions, desk.translator,
                             delay=timedelta(minutes=settings.rating_request_delay_minutes),
                             max_age=timedelta(hours=settings.rating_request_max_age_hours), clock=clock)
    desk.scheduler.add("housekeeping.ratings", _job(ratings), min(settings.housekeeping_seconds, 60.0))
    prune = PruneEvents(desk.sessions, timedelta(days=settings.event_retention_days), clock=clock)
    desk.scheduler.add("housekeeping.prune_events", _job(prune), PRUNE_SECONDS)
    orphans = RemoveOrphanFiles(desk.sessions, settings.attachments_dir,
                                timedelta(hours=settings.orphan_attachment_grace_hours), clock=clock)
    desk.scheduler.add("housekeeping.orphan_files", _job(orphans), PRUNE_SECONDS)
