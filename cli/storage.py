"""`desk storage migrate`: move the files of the folder store ($DESK_DATA_DIR/attachments, or --from)
into PostgreSQL, where every process of the desk reads them (FILE_STORE=database, the default).
Progress on stderr; safe to stop and run again."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.errors import Voice
from cli.session import DatabaseFactory, sessions_of
from core.i18n import N_
from core.settings import Settings
from core.storage import FolderStore
from core.storage_db import DatabaseStore
from core.storage_move import move_files, plan

COMMANDS = ("storage",)
MOVED = N_("{moved} file(s) moved into the database ({size}), {present} already there.")
CORRUPT = N_("{count} file(s) do not match their hash and were left out: {keys}")
STILL_FOLDER = N_("FILE_STORE=folder: this desk still reads its files from the folder until you set "
                  "FILE_STORE=database.")


def add_commands(commands: Any) -> None:
    storage = commands.add_parser("storage", help="where the desk keeps its files")
    actions = storage.add_subparsers(dest="storage_command", required=True, metavar="ACTION")
    migrate = actions.add_parser("migrate", help="move the folder store's files into PostgreSQL (resumable)")
    migrate.add_argument("--from", dest="source", type=Path, default=None,
                         help="the folder (default: $DESK_DATA_DIR/attachments)")
    migrate.add_argument("--remove", action="store_true", help="delete each file once it is in the database")


async def run(settings: Settings, args: argparse.Namespace, database: DatabaseFactory, voice: Voice) -> int:
    from tqdm import tqdm

    source = FolderStore(args.source or settings.attachments_dir, settings.attachment_max_bytes)
    async with sessions_of(settings, database) as sessions:
        target = DatabaseStore(sessions, settings.attachment_max_bytes)
        keys, total = await plan(source)
        with tqdm(total=total, unit="B", unit_scale=True, desc="files", file=sys.stderr) as bar:
            report = await move_files(source, target, keys, bar.update, remove=args.remove)
    print(voice(MOVED, moved=report.moved, size=_size(report.bytes), present=report.present))
    if settings.file_store == "folder":
        print(voice(STILL_FOLDER), file=sys.stderr)
    if report.corrupt:
        print(voice(CORRUPT, count=len(report.corrupt), keys=", ".join(report.corrupt)), file=sys.stderr)
        return 1
    return 0


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"
