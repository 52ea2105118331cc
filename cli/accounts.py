"""`desk admin list` and `desk operator list|disable|enable|reset-password`: accounts from the server's
shell, for when the panel is out of reach (a locked-out or forgotten admin password, an operator to
stop at once). Whoever can run these holds DATABASE_URL: they act as an admin, audited as "system".

Disabling signs the operator out everywhere (panel sessions, API tokens, open sockets in every web
process) and gives their open tickets back to their queues, listing them; `--keep-tickets` leaves them
assigned and lists them instead. Nothing changes without being said."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from cli import support as support_cli
from cli.errors import Voice
from cli.session import DatabaseFactory, sessions_of
from core.i18n import N_
from core.models import Operator
from core.services import accounts
from core.settings import Settings

COMMANDS = ("admin", "operator")  # `admin create` and `operator link` are desk.py's and cli/support.py's
DISABLED = N_("{email} is disabled; {sessions} panel session(s) signed out.")
RETURNED = N_("Open tickets returned to their queues (unassigned): {tickets}.")
KEPT = N_("Open tickets still assigned to them (nobody can answer them until reassigned in the panel): {tickets}.")
NO_OPEN = N_("They had no open tickets.")
ENABLED = N_("{email} is enabled again (login lock lifted). Their password is unchanged.")
NEW_PASSWORD = N_("New password for {email} (shown once; {sessions} session(s) signed out):")
PASSWORD_SET = N_("Password of {email} changed; {sessions} session(s) signed out.")
EMPTY_STDIN = N_("No password on standard input (give one line).")


def add_commands(commands: Any, admin_commands: Any) -> None:
    admin_commands.add_parser("list", help="every admin: id, e-mail, name, active")
    operator = commands.add_parser("operator", help="operator accounts from the shell: list, disable, enable, "
                                                    "reset-password")
    actions = operator.add_subparsers(dest="operator_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="every account: id, e-mail, name, role, active, open tickets")
    support_cli.add_link_command(actions)
    disable = actions.add_parser("disable", help="disable an account and sign it out everywhere at once")
    disable.add_argument("--email", required=True)
    disable.add_argument("--keep-tickets", action="store_true",
                         help="leave their open tickets assigned (default: back to their queues, unassigned)")
    enable = actions.add_parser("enable", help="enable an account again and lift its login lock")
    enable.add_argument("--email", required=True)
    reset = actions.add_parser("reset-password", help="print a new random password once (or read one with "
                                                      "--stdin); signs the account out everywhere")
    reset.add_argument("--email", required=True)
    reset.add_argument("--stdin", action="store_true", help="read the new password from standard input (one line)")


async def run(settings: Settings, args: argparse.Namespace, database: DatabaseFactory, voice: Voice) -> None:
    password = _stdin_password(voice) if getattr(args, "stdin", False) else None
    async with sessions_of(settings, database) as sessions, sessions() as session, session.begin():
        lines = await perform(session, args, voice, password)
    print("\n".join(lines))


def _stdin_password(voice: Voice) -> str:
    """One line of standard input; typed at a terminal, without echo."""
    if sys.stdin.isatty():
        import getpass

        line = getpass.getpass("Password: ")
    else:
        line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise SystemExit(f"desk: {voice(EMPTY_STDIN)}")
    return line


async def perform(session: Any, args: argparse.Namespace, voice: Voice, password: str | None) -> list[str]:
    now = datetime.now(UTC)
    action = "list" if args.command == "admin" else args.operator_command
    if action == "list":
        return await _table(session, admins_only=args.command == "admin")
    if action == "disable":
        done = await accounts.disable_from_shell(session, args.email, now=now, keep_tickets=args.keep_tickets)
        lines = [voice(DISABLED, email=done.operator.email, sessions=done.sessions_revoked)]
        if done.returned:
            lines.append(voice(RETURNED, tickets=_ids(done.returned)))
        elif done.kept:
            lines.append(voice(KEPT, tickets=_ids(done.kept)))
        else:
            lines.append(voice(NO_OPEN))
        return lines
    if action == "enable":
        operator = await accounts.enable_from_shell(session, args.email)
        return [voice(ENABLED, email=operator.email)]
    operator, chosen, count = await accounts.set_password_from_shell(session, args.email, password, now=now)
    if password is not None:
        return [voice(PASSWORD_SET, email=operator.email, sessions=count)]
    return [voice(NEW_PASSWORD, email=operator.email, sessions=count), chosen]


def _ids(ticket_ids: list[int]) -> str:
    return ", ".join(f"#{ticket_id}" for ticket_id in ticket_ids)


async def _table(session: Any, *, admins_only: bool) -> list[str]:
    """Tab-separated, a header first (field names, the same in every language: scripts read it)."""
    operators: list[Operator] = await accounts.list_operators(session)
    if admins_only:
        rows = ["id\temail\tname\tactive"]
        rows += [f"{o.id}\t{o.email}\t{o.display_name}\t{_yes(o.is_active)}" for o in operators if o.role == "admin"]
        return rows
    open_counts = await accounts.open_tickets_by_assignee(session)
    rows = ["id\temail\tname\trole\tactive\topen_tickets"]
    rows += [f"{o.id}\t{o.email}\t{o.display_name}\t{o.role}\t{_yes(o.is_active)}\t{open_counts.get(o.id, 0)}"
             for o in operators]
    return rows


def _yes(value: bool) -> str:
    return "yes" if value else "no"
