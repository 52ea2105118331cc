"""Composition root and the `desk` command: wires settings, database, bot, web and workers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cli import accounts as accounts_cli
from cli import backup as backup_cli
from cli import demo as demo_cli
from cli import errors as cli_errors
from cli import sites as sites_cli
from cli import sla as sla_cli
from cli import storage as storage_cli
from cli import stores as stores_cli
from cli import support as support_cli
from cli.arguments import Parser
from cli.errors import DATABASE_ERRORS, Voice, cli_language
from core import event_announcer
from core.assignment import assignment_rules
from core.channels import ChannelRegistry
from core.context import Desk
from core.db import asyncpg_dsn, create_engine, create_session_factory
from core.domain import LANGUAGES
from core.embedded_pg import EmbeddedPostgres
from core.errors import DeskError
from core.health import Components
from core.heap import freeze_startup_heap
from core.i18n import load_translator
from core.kb.wordlist import warm as warm_wordlist
from core.listener import EventStream, PgListener
from core.logs import setup_logging
from core.outbox import CHANNEL as OUTBOX_CHANNEL
from core.outbox import Channel, LeaseOwner, OutboxWorker
from core.scheduler import LeaderScheduler
from core.settings import SANDBOX_PATH, Settings, SettingsError, load_settings, sandboxed
from core.storage import AttachmentStore, FolderStore
from core.storage_db import DatabaseStore
from core.supervisor import Supervisor

log = logging.getLogger("desk")
ROLES = ("web", "bot", "worker")


class Database(contextlib.AbstractAsyncContextManager["Database"]):
    """DATABASE_URL, or the embedded PostgreSQL in $DESK_DATA_DIR/pg, started and stopped here.
    `direct_url` reaches the server itself (DATABASE_DIRECT_URL, else the same URL): what holds session
    state, migrations and one-off commands use it; the pooled `url` serves the connection pool."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.database_url or ""
        self.direct_url = settings.database_direct_url or self.url
        self._embedded: EmbeddedPostgres | None = None

    async def __aenter__(self) -> Database:
        if not self.url:
            self._embedded = EmbeddedPostgres(self.settings.desk_data_dir.resolve() / "pg")
            self.url = self.direct_url = await self._embedded.astart()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._embedded is not None:
            await self._embedded.astop()


def build_channels(settings: Settings) -> ChannelRegistry:
    """Every customer channel's spec, as its adapter declares it; core asks this registry what a
    channel can do, never its name. The one place that lists the adapters."""
    from bot.channel_spec import telegram_spec
    from core.mail.channel_spec import email_spec
    from web.channel_spec import web_spec

    return ChannelRegistry([telegram_spec(settings), email_spec(settings), web_spec(settings)])


def file_store(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> AttachmentStore:
    """FILE_STORE: files in PostgreSQL (every process sees them), or in $DESK_DATA_DIR/attachments."""
    folder = FolderStore(settings.attachments_dir, settings.attachment_max_bytes)
    if settings.file_store == "folder":
        return folder
    if not _has_files(settings.attachments_dir):
        return DatabaseStore(sessions, settings.attachment_max_bytes)
    # An upgraded desk: its files are read from the folder until `desk storage migrate` moves them.
    log.warning("files are still in the folder store; run `desk storage migrate`",
                extra={"folder": str(settings.attachments_dir)})
    return DatabaseStore(sessions, settings.attachment_max_bytes, legacy=folder)


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(path.is_file() for path in folder.glob("??/*"))


def build_desk(settings: Settings, url: str, direct_url: str | None = None) -> Desk:
    """`url` feeds the pool (it may be PgBouncer's); `direct_url` (default `url`) the connections that
    hold session state: LISTEN, the event reader, the scheduler's leader lock, the outbox lease owner
    and the mailbox lock all take `desk.dsn`."""
    engine = create_engine(url, pool_size=settings.database_pool_size, behind_pooler=settings.behind_pooler)
    channels = build_channels(settings)
    translator = load_translator()
    sessions = create_session_factory(engine, channels=channels, translator=translator,
                                      assignment=assignment_rules(settings))
    dsn = asyncpg_dsn(direct_url or url)
    components = Components()
    listener = PgListener(dsn, status=components)
    # The LISTEN connection drops first when PostgreSQL restarts; the pooled connections died with it,
    # and most are not pinged (only idle ones are), so the pool starts afresh rather than failing a
    # request per stale connection once the server is back.
    listener.on_lost(engine.dispose)
    return Desk(
        settings=settings,
        engine=engine,
        sessions=sessions,
        dsn=dsn,
        translator=translator,
        storage=file_store(settings, sessions),
        listener=listener,
        stream=EventStream(sessions, listener, status=components,
                           held_fail_after=settings.health_grace_seconds),
        scheduler=LeaderScheduler(dsn, status=components),
        channels=channels,
        components=components,
    )


def create_outbox_worker(desk: Desk, channels: dict[str, Channel]) -> OutboxWorker:
    """The outbox worker with every outcome hook (a message's delivery state follows its row). It
    wakes on NOTIFY: the handler is registered here, before anything can miss a wake-up."""
    from core.services.conversations import record_delivery
    from core.services.support import mark_recipient_gone
    from core.staffgroup.topics import reply_outcome

    worker = OutboxWorker(desk.sessions, channels, on_outcome=[record_delivery, mark_recipient_gone, reply_outcome],
                          owner=LeaseOwner(desk.dsn), status=desk.components)
    desk.listener.on(OUTBOX_CHANNEL, worker.wake)

    async def database_back() -> None:  # the listener reconnected: rows may wait for a pass
        worker.wake()

    desk.listener.on_reconnect(database_back)
    return worker


def register_jobs(desk: Desk) -> None:
    """Every periodic job of the deployment; only the scheduler leader runs them."""
    from core.jobs.registry import register_sla_jobs

    register_sla_jobs(desk)

    from core.orders.reminders import reminder_job

    desk.scheduler.add("orders.reminders", reminder_job(desk.sessions, desk.translator), 30.0)
    if desk.settings.widget_enabled:  # the website chat's resend receipts (nothing to prune without it)
        from core.jobs.registry import register_widget_jobs

        register_widget_jobs(desk)


async def serve(settings: Settings, roles: set[str], migrate: bool, ready: Callable[[], None] | None = None) -> None:
    why = "TELEGRAM_SANDBOX is set" if settings.bot_enabled else "TELEGRAM_BOT_TOKEN is not set"
    settings = sandboxed(settings)
    if settings.telegram_sandbox:  # a warning: never on silently in production
        log.warning("Telegram sandbox is on: the bot talks to the desk's own Bot API, not to Telegram",
                    extra={"open": f"http://{settings.web_host}:{settings.web_port}{SANDBOX_PATH}", "why": why})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Database(settings) as database:
        if not await _wait_for_database(database.url, stop):
            log.info("desk stopped before its database answered")
            return
        if migrate:
            from core.migrate import upgrade

            await upgrade(database.direct_url)
        desk = build_desk(settings, database.url, database.direct_url)
        await asyncio.to_thread(warm_wordlist, LANGUAGES)  # the KB search's word lists (core/kb/wordlist.py)
        if settings.behind_pooler and database.direct_url == database.url:
            log.warning("DATABASE_URL goes through a pooler and DATABASE_DIRECT_URL is not set: LISTEN (live "
                        "events), the scheduler's leader lock and the outbox lease owner need the server "
                        "itself and will keep failing")
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(desk.engine.dispose)
            stack.push_async_callback(event_announcer.close_all)  # after the last publish, before the pool goes
            await _start(desk, roles, stack)
            frozen = freeze_startup_heap()
            log.info("desk started", extra={"roles": sorted(roles), "url": f"http://{settings.web_host}:{settings.web_port}",
                                            "frozen_objects": frozen})
            if ready:
                ready()
            await stop.wait()
            log.info("desk stopping")
    log.info("desk stopped")


async def _wait_for_database(url: str, stop: asyncio.Event) -> bool:
    """A desk started while its (external) database is away waits for it instead of exiting: the
    same outage rule as when it is running. Any other refusal (a wrong password, no such database)
    is left to the migration step to report. False: told to stop while waiting."""
    import asyncpg

    from core.db import database_unavailable

    delay = 0.5
    while not stop.is_set():
        try:
            conn = await asyncpg.connect(asyncpg_dsn(url), timeout=5.0)
        except Exception as exc:
            if not database_unavailable(exc):
                return True
            log.warning("waiting for the database", extra={"error": repr(exc), "in_seconds": delay})
        else:
            await conn.close(timeout=2.0)
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, 2.0)
    return False


async def _start(desk: Desk, roles: set[str], stack: contextlib.AsyncExitStack) -> None:
    """Every long-running part runs under one supervisor (logged, restarted with backoff, its state on
    /healthz). Handlers and channels are all registered before the listener starts. Shutdown runs in
    reverse: stop taking updates, stop the web server, let the outbox pass in flight finish, then the
    parts, then the listener."""
    supervisor = Supervisor(desk.components)
    stack.push_async_callback(supervisor.stop)
    stack.push_async_callback(desk.listener.stop)
    await desk.stream.start_from_now()
    bot_parts = _bot_parts(desk, roles)
    worker: OutboxWorker | None = None
    if "worker" in roles:
        from web import widget

        widget.attach(desk)  # its deliver only announces on the event bus: any worker process runs it
        _start_mail(desk, stack, supervisor)  # attaches the e-mail adapter, as the bot attached its own
        worker = desk.outbox = create_outbox_worker(desk, desk.channels.deliverers())
        stack.push_async_callback(worker.close)
        register_jobs(desk)
        stack.push_async_callback(desk.scheduler.stop)
    supervisor.start("listener", desk.listener.run)
    supervisor.start("events", desk.stream.run)
    if worker is not None:
        supervisor.start("outbox", worker.run)
        stack.push_async_callback(_drain_worker, worker, supervisor)
        supervisor.start("scheduler", desk.scheduler.run)
    # The sandbox's Bot API lives in this web app: it listens before the bot's first call.
    web_first = bool(desk.settings.telegram_sandbox) and "web" in roles
    if web_first:
        await _start_web(desk, roles, stack, None)
    if bot_parts is not None:
        stack.push_async_callback(bot_parts.close)
        bot_parts.start(supervisor)
        stack.push_async_callback(bot_parts.stop_receiving)  # on shutdown: first stop taking updates
    if not web_first and ("web" in roles or (bot_parts is not None and bot_parts.needs_web)):
        await _start_web(desk, roles, stack, bot_parts)
    stack.callback(supervisor.close)  # runs first on shutdown: nothing is restarted from then on


async def _drain_worker(worker: OutboxWorker, supervisor: Supervisor, timeout: float = 10.0) -> None:
    """Let the pass in flight finish; a delivery still hanging after the timeout is retried by any
    worker (at once: this process's lease identity goes with it), so cancelling it loses nothing."""
    worker.stop()
    if not await supervisor.wait("outbox", timeout):
        log.warning("outbox worker did not finish its pass in time; its rows return to the queue")
        await supervisor.cancel("outbox")


def _bot_parts(desk: Desk, roles: set[str]):  # type: ignore[no-untyped-def]
    if "bot" not in roles and "worker" not in roles:
        return None
    if not desk.settings.bot_enabled:
        desk.components["bot"] = "off"
        log.info("bot is off: TELEGRAM_BOT_TOKEN is not set")
        return None
    from bot.runtime import BotRuntime

    return BotRuntime.create(desk, receive="bot" in roles)


def _start_mail(desk: Desk, stack: contextlib.AsyncExitStack, supervisor: Supervisor):  # type: ignore[no-untyped-def]
    """The email channel for the outbox and, with IMAP configured, the mailbox poller (one per
    mailbox across processes: it holds an advisory lock)."""
    from core.mail.runtime import build_mail

    mail = build_mail(desk)
    if mail.poller is not None:
        stack.callback(mail.poller.stop)
        supervisor.start("mail", mail.poller.run)
    return mail


async def _start_web(desk: Desk, roles: set[str], stack: contextlib.AsyncExitStack, bot_parts) -> None:  # type: ignore[no-untyped-def]
    from aiohttp import web

    from web.app import create_app

    app = create_app(desk) if "web" in roles else web.Application()
    if bot_parts is not None:
        bot_parts.attach_webhook(app)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, desk.settings.web_host, desk.settings.web_port, shutdown_timeout=5.0)
    await site.start()
    desk.components["web"] = "ok"


async def create_admin(settings: Settings, email: str, password: str, name: str | None) -> None:
    from core.migrate import upgrade
    from core.services.operators import create_operator

    async with Database(settings) as database:
        await upgrade(database.direct_url)
        engine = create_engine(database.direct_url, pool_size=1)
        try:
            async with create_session_factory(engine, channels=build_channels(settings))() as session, session.begin():
                operator = await create_operator(session, email=email, password=password, role="admin",
                                                 display_name=name)
            print(f"admin {operator.email} created (id {operator.id})")
        finally:
            await engine.dispose()


async def migrate_only(settings: Settings) -> None:
    from core.migrate import upgrade

    async with Database(settings) as database:
        await upgrade(database.direct_url)
    print("database is up to date")


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise SystemExit("passwords do not match")
        return first
    return sys.stdin.readline().rstrip("\n")


def version() -> str:
    """This checkout's version (pyproject.toml), else the installed package's."""
    import tomllib
    from importlib import metadata

    try:
        with (Path(__file__).resolve().parent / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        try:
            return metadata.version("desk")
        except metadata.PackageNotFoundError:
            return "unknown"


def parser(voice: Voice) -> argparse.ArgumentParser:
    root = Parser(prog="desk", description="Desk: Telegram-first support and order desk.")
    root.add_argument("--version", action="version", version=f"desk {version()}")
    root.add_argument("-v", "--verbose", action="store_true",
                      help="log at LOG_LEVEL (commands other than run log only warnings and errors)")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the desk (web panel, bot, workers) until Ctrl-C")
    run.add_argument("--only", default="", help="comma-separated roles to run: web,bot,worker (default: all)")
    run.add_argument("--no-migrate", action="store_true", help="do not apply pending migrations first")
    commands.add_parser("migrate", help="apply pending database migrations")
    admin = commands.add_parser("admin", help="manage admin accounts")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    create = admin_commands.add_parser("create", help="create an admin (password from a prompt or stdin)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default=None, help="display name")
    accounts_cli.add_commands(commands, admin_commands)
    support_cli.add_commands(commands)
    sla_cli.add_commands(commands, voice)
    stores_cli.add_commands(commands, voice)
    sites_cli.add_commands(commands)
    demo_cli.add_commands(commands)
    storage_cli.add_commands(commands)
    backup_cli.add_commands(commands)
    return root


def parse_roles(value: str) -> set[str]:
    roles = {part.strip() for part in value.split(",") if part.strip()} or set(ROLES)
    unknown = roles - set(ROLES)
    if unknown:
        raise SystemExit(f"desk: unknown role(s) for --only: {', '.join(sorted(unknown))} (use {','.join(ROLES)})")
    return roles


def main(argv: list[str] | None = None) -> int:
    voice = Voice(load_translator(), cli_language())
    root = parser(voice)
    args = root.parse_args(argv)
    problem = args.check(args) if hasattr(args, "check") else None
    if problem:
        root.error(problem)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"desk: {exc}", file=sys.stderr)
        return 2
    quiet = args.command != "run" and not args.verbose
    setup_logging(max(logging.WARNING, logging.getLevelName(settings.log_level)) if quiet else settings.log_level)
    Path(settings.desk_data_dir).mkdir(parents=True, exist_ok=True)
    try:
        code = _dispatch(settings, args, voice)
    except KeyboardInterrupt:
        return 0
    except DeskError as exc:
        print(f"desk: {voice.explain(exc)}", file=sys.stderr)
        return 1
    except DATABASE_ERRORS as exc:
        print(f"desk: {voice(cli_errors.DATABASE_UNREACHABLE, reason=cli_errors.reason(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file the command reads or writes
        print(f"desk: {cli_errors.reason(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.verbose:
            raise
        print(f"desk: {voice(cli_errors.UNEXPECTED, reason=cli_errors.reason(exc))}", file=sys.stderr)
        return 1
    return code or 0


def _dispatch(settings: Settings, args: argparse.Namespace, voice: Voice) -> int | None:
    if args.command == "run":
        asyncio.run(serve(settings, parse_roles(args.only), migrate=not args.no_migrate))
    elif args.command == "migrate":
        asyncio.run(migrate_only(settings))
    elif args.command == "admin" and args.admin_command == "create":
        asyncio.run(create_admin(settings, args.email, _read_password(), args.name))
    elif args.command in support_cli.COMMANDS or getattr(args, "operator_command", None) == "link":
        asyncio.run(support_cli.run(settings, args, Database))
    elif args.command in sla_cli.COMMANDS:
        asyncio.run(sla_cli.run(settings, args, Database))
    elif args.command == "store":
        asyncio.run(stores_cli.run(settings, args, Database, voice))
    elif args.command in sites_cli.COMMANDS:
        asyncio.run(sites_cli.run(settings, args, Database))
    elif args.command in accounts_cli.COMMANDS:
        asyncio.run(accounts_cli.run(settings, args, Database, voice))
    elif args.command in demo_cli.COMMANDS:
        asyncio.run(demo_cli.run(settings, args, Database, voice))
    elif args.command in backup_cli.COMMANDS:
        asyncio.run(backup_cli.run(settings, args, Database, voice))
    elif args.command in storage_cli.COMMANDS:
        return asyncio.run(storage_cli.run(settings, args, Database, voice))
    return None


if __name__ == "__main__":
    raise SystemExit(main())
