"""`desk backup FILE` and `desk restore FILE [--force]`: the whole desk in one archive (core/backup.py),
progress on stderr. A restore goes into an empty desk (refused otherwise unless --force), migrates the
restored database to this version, and puts the archive's folder files into this desk's store."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cli.errors import Voice
from cli.session import DatabaseFactory
from core import backup as archive
from core.db import create_engine, create_session_factory
from core.i18n import N_
from core.settings import Settings

COMMANDS = ("backup", "restore")
BACKED_UP = N_("Backup written to {path}: {rows} rows in {tables} tables, and {files} file(s) from the folder store.")
KEEP_SECRET = N_("Keep SECRET_KEY (the .env) safe beside it: the archive does not hold it.")
RESTORED = N_("Restored from {path} (taken {taken}): {rows} rows in {tables} tables, and {files} file(s) from the "
              "folder store.")
OTHER_SECRET = N_("SECRET_KEY differs from the one of the backup: set the old one, or panel sessions, widget visitors "
                  "and signed links stop working.")


def add_commands(commands: Any) -> None:
    made = commands.add_parser("backup", help="write the whole desk (database and files) into one archive")
    made.add_argument("file", type=Path, help="the archive to write (replaced if it exists)")
    back = commands.add_parser("restore", help="restore an archive of `desk backup` into an empty desk")
    back.add_argument("file", type=Path, help="the archive")
    back.add_argument("--force", action="store_true", help="replace everything in a desk that is not empty")


class Bars:
    """tqdm bars on stderr, one per stage."""

    def __init__(self) -> None:
        self.bar: Any = None

    def stage(self, name: str, total: int | None) -> None:
        from tqdm import tqdm

        self.close()
        self.bar = tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr)

    def advance(self, count: int) -> None:
        if self.bar is not None and count:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.asynccontextmanager
async def _desk(settings: Settings, database: DatabaseFactory) -> AsyncIterator[tuple[str, Any]]:
    async with database(settings) as db:
        yield getattr(db, "direct_url", db.url), db


@contextlib.asynccontextmanager
async def _sessions(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(url, pool_size=1)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def run(settings: Settings, args: argparse.Namespace, database: DatabaseFactory, voice: Voice) -> None:
    from desk import file_store  # the composition root picks the store; imported late (it imports cli)

    bars = Bars()
    secret = settings.secret_key.get_secret_value()
    try:
        async with _desk(settings, database) as (url, _):
            if args.command == "backup":
                async with _sessions(url) as sessions:
                    made = await archive.backup(url, file_store(settings, sessions), secret, args.file, bars)
                bars.close()
                print(voice(BACKED_UP, path=args.file, rows=sum(made.rows.values()), tables=len(made.rows),
                            files=made.files))
                print(voice(KEEP_SECRET), file=sys.stderr)
                return
            from core.migrate import upgrade

            manifest = await archive.restore(url, args.file, force=args.force, progress=bars)
            await upgrade(url)
            async with _sessions(url) as sessions:
                files = await archive.restore_files(args.file, file_store(settings, sessions), bars)
            bars.close()
            print(voice(RESTORED, path=args.file, taken=manifest.created_at[:19].replace("T", " "),
                        rows=sum(manifest.rows.values()), tables=len(manifest.rows), files=files))
            if manifest.secret != archive.secret_fingerprint(secret):
                print(voice(OTHER_SECRET), file=sys.stderr)
    finally:
        bars.close()
