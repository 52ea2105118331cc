"""The SLA watch, the auto-assignment pass and the housekeeping jobs, added to the leader scheduler by the
composition root."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from core.assignment import assignment_rules
from core.context import Desk
from core.jobs.autoassign import AutoAssign
from core.jobs.autoclose import AutoClose
from core.jobs.prune import PruneEvents, PruneKbMisses, PruneWidgetReceipts, RemoveOrphanFiles
from core.jobs.ratings import RatingRequests
from core.jobs.rollups import RefreshRollups
from core.kb.misses import RETENTION as KB_MISS_RETENTION
from core.scheduler import Job
from core.sla.clock import SYSTEM_CLOCK, Clock
from core.sla.watch import SlaWatch

WIDGET_RECEIPT_RETENTION = timedelta(days=7)  # a widget resends within minutes; a week is plenty


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
    desk.scheduler.add("housekeeping.prune_events", _job(prune), settings.prune_seconds)
    orphans = RemoveOrphanFiles(desk.sessions, desk.storage,
                                timedelta(hours=settings.orphan_attachment_grace_hours), clock=clock)
    desk.scheduler.add("housekeeping.orphan_files", _job(orphans), settings.prune_seconds)
    rollups = RefreshRollups(desk.sessions, clock=clock)
    desk.scheduler.add("housekeeping.dashboard_rollups", _job(rollups), settings.housekeeping_seconds)
    kb_misses = PruneKbMisses(desk.sessions, KB_MISS_RETENTION, clock=clock)
    desk.scheduler.add("housekeeping.prune_kb_misses", _job(kb_misses), settings.prune_seconds)
    auto_assign = AutoAssign(desk.sessions, assignment_rules(settings))
    desk.scheduler.add("tickets.auto_assign", _job(auto_assign), settings.auto_assign_seconds)


def register_widget_jobs(desk: Desk, clock: Clock = SYSTEM_CLOCK) -> None:
    """The website chat's housekeeping (where WIDGET_ENABLED is set): old resend receipts go."""
    receipts = PruneWidgetReceipts(desk.sessions, WIDGET_RECEIPT_RETENTION, clock=clock)
    desk.scheduler.add("housekeeping.prune_widget_receipts", _job(receipts), desk.settings.prune_seconds)
