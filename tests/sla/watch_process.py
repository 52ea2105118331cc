"""A scheduler process for the hand-over test: the production LeaderScheduler running the SLA watch
every 0.2 s with a clock read from a file. Each run the process leads appends its name to a file.

usage: python -m tests.sla.watch_process DATABASE_URL CLOCK_FILE RUNS_FILE NAME
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker

from core.channels import CHANNELS_KEY
from core.db import asyncpg_dsn, create_engine
from core.i18n import load_translator
from core.scheduler import LeaderScheduler
from core.settings import load_settings
from core.sla.clock import CLOCK_KEY
from core.sla.watch import SlaWatch
from desk import build_channels
from tests.sla.clocks import FileClock


async def main(url: str, clock_file: str, runs_file: str, name: str) -> None:
    clock = FileClock(Path(clock_file))
    engine = create_engine(url, pool_size=2)
    channels = build_channels(load_settings(_env_file=None))  # SLA alerts go to the registry's staff channel
    sessions = async_sessionmaker(engine, expire_on_commit=False, info={CLOCK_KEY: clock, CHANNELS_KEY: channels})
    watch = SlaWatch(sessions, load_translator(), clock=clock, warn_before=timedelta(hours=1))

    async def job() -> None:
        await watch.run()
        with Path(runs_file).open("a") as handle:
            handle.write(name + "\n")

    scheduler = LeaderScheduler(asyncpg_dsn(url), retry_seconds=0.2, name=name)
    scheduler.add("sla.watch", job, 0.2)
    await scheduler.run()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(main(*sys.argv[1:5]))
