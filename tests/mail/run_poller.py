"""A mail poller in its own process, for the test that kills it with SIGKILL mid-batch."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from core.db import create_engine, create_session_factory
from core.i18n import load_translator
from core.mail.imap import ImapConfig
from core.mail.intake import IntakeOptions
from core.mail.poller import MailPoller
from core.settings import load_settings
from core.storage import FolderStore
from desk import build_channels
from tests.mail.servers import PASSWORD, USER


async def main(port: int, url: str, dsn: str, storage_dir: str) -> None:
    engine = create_engine(url, pool_size=2)
    imap = ImapConfig(host="127.0.0.1", port=port, user=USER, password=PASSWORD, security="plain", timeout=5)
    options = IntakeOptions(mailbox=imap.mailbox, own_addresses=frozenset({USER}), reopen_window_hours=72,
                            acknowledge=True, default_language="en")
    sessions = create_session_factory(engine, channels=build_channels(load_settings(_env_file=None)))
    poller = MailPoller(sessions, dsn, FolderStore(Path(storage_dir), 5 << 20),
                        load_translator(), imap, options, poll_seconds=30.0, retry_base=0.05, retry_max=0.3, batch=4)
    await poller.run()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
