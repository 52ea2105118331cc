"""Argument types that refuse a bad value before anything runs: argparse then exits 2 with one line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

from cli.errors import Voice
from core.errors import InvalidInput
from core.i18n import N_
from core.sla.policy import parse_duration


def duration(voice: Voice, field: str) -> Callable[[str], int]:
    """'15m', '4h', '1d', '1h30m' → minutes; an empty or malformed value is refused."""

    def parse(text: str) -> int:
        try:
            return parse_duration(text, field)
        except InvalidInput as error:
            raise argparse.ArgumentTypeError(voice.explain(error)) from None

    return parse


def whole_between(voice: Voice, low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(voice(N_("give a whole number from {low} to {high}"), low=low, high=high))
        return value

    return parse


def hours(voice: Voice) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = 0.0
        if not 0 < value <= 24 * 366:
            raise argparse.ArgumentTypeError(voice(N_("give a number of hours greater than 0, such as 48")))
        return value

    return parse


class Parser(argparse.ArgumentParser):
    """argparse with a mistake told in one line (the usage is one `--help` away); exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")
