"""`desk sla show|set|recompute` and `desk report sla`: parsing and printing; core.sla.commands does
the work."""

from __future__ import annotations

import argparse
from typing import Any

from cli import arguments
from cli.errors import Voice
from cli.session import DatabaseFactory, sessions_of
from core.domain import PRIORITIES
from core.i18n import N_
from core.settings import Settings

COMMANDS = ("sla", "report")


def add_commands(commands: Any, voice: Voice) -> None:
    sla = commands.add_parser("sla", help="SLA policies (first response and resolution per priority)")
    sla_commands = sla.add_subparsers(dest="sla_command", required=True, metavar="ACTION")
    sla_commands.add_parser("show", help="print the policy of every priority")
    sla_set = sla_commands.add_parser("set", help="set a priority's deadlines (e.g. 15m, 4h, 1d)")
    sla_set.add_argument("--priority", required=True, choices=PRIORITIES)
    sla_set.add_argument("--first-response", type=arguments.duration(voice, "first_response"), default=None,
                         help="15m, 4h, 1d, 1h30m")
    sla_set.add_argument("--resolution", type=arguments.duration(voice, "resolution"), default=None,
                         help="15m, 4h, 1d, 1h30m")
    sla_set.set_defaults(check=_one_duration_given(voice))
    sla_commands.add_parser("recompute", help="apply the current policies and business hours to every open ticket")
    report = commands.add_parser("report", help="print reports")
    report_commands = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    sla_report = report_commands.add_parser("sla", help="SLA attainment and times per priority and queue")
    sla_report.add_argument("--days", type=arguments.whole_between(voice, 1, 3660), default=30,
                            help="tickets opened in the last N days (default 30)")


def _one_duration_given(voice: Voice) -> Any:
    def check(args: argparse.Namespace) -> str | None:
        if args.first_response is None and args.resolution is None:
            return voice(N_("give --first-response and/or --resolution"))
        return None

    return check


async def run(settings: Settings, args: argparse.Namespace, database: DatabaseFactory) -> None:
    from core.sla import commands

    async with sessions_of(settings, database) as sessions:
        if args.command == "report":
            print(await commands.report(sessions, args.days), end="")
        elif args.sla_command == "show":
            print(await commands.show_policies(sessions), end="")
        elif args.sla_command == "recompute":
            print(await _recompute(sessions), end="")
        else:
            print(await commands.set_policy(sessions, args.priority, args.first_response, args.resolution), end="")


async def _recompute(sessions: Any) -> str:
    from tqdm import tqdm

    from core.sla import commands

    with tqdm(unit="ticket", desc="recompute") as bar:
        def step(count: int) -> None:
            if count < 0:
                bar.reset(total=-count)
            else:
                bar.update(count)

        return await commands.recompute(sessions, step)
