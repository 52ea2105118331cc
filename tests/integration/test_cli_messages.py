"""What the `desk` command says to a person, in process: one line per mistake, in their language,
exit 2 for a bad argument and 1 for a refused action, no log lines unless --verbose."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import desk
from cli.errors import cli_language

UNREACHABLE = "postgresql://x@127.0.0.1:1/x"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean environment for the command; the root logger is given back as it was (main sets it up)."""
    for name in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "TELEGRAM_API_BASE",
                 "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DESK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield monkeypatch
    root.handlers[:] = handlers
    root.setLevel(level)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = desk.main(list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["sla", "set", "--priority", "high", "--first-response", ""], "duration must look like 15m"),
        (["sla", "set", "--priority", "high", "--resolution", "soon"], "duration must look like 15m"),
        (["sla", "set", "--priority", "high", "--resolution", "0m"], "between 1 minute and 366 days"),
        (["sla", "set", "--priority", "high"], "give --first-response and/or --resolution"),
        (["report", "sla", "--days", "0"], "give a whole number from 1 to 3660"),
        (["store", "invite", "--store", "1", "--hours", "-1"], "greater than 0"),
        (["store", "invite", "--store", "one"], "invalid int value"),
    ],
)
def test_a_bad_argument_exits_2_with_one_line_before_anything_runs(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    cli_env.setenv("DATABASE_URL", UNREACHABLE)  # never reached: the argument is refused first
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and says in err, err


def test_an_unreachable_database_is_one_line_in_the_users_language(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.setenv("DATABASE_URL", UNREACHABLE)
    for argv in (["migrate"], ["sla", "show"], ["store", "create", "--name", "Shop"],
                 ["operator", "link", "--email", "a@b.c"]):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (1, ""), argv
        assert re.fullmatch(r"desk: Cannot reach the database \(.+\)\. Check DATABASE_URL .*\n", err), err
    cli_env.setenv("LANG", "ru_RU.UTF-8")
    code, _out, err = run(capsys, "sla", "show")
    assert code == 1 and err.startswith("desk: Нет связи с базой данных")


def test_the_language_follows_lc_all_then_lc_messages_then_lang() -> None:
    assert cli_language({}) == "en"
    assert cli_language({"LANG": "ru_RU.UTF-8"}) == "ru"
    assert cli_language({"LANG": "ru_RU.UTF-8", "LC_ALL": "C.UTF-8"}) == "en"
    assert cli_language({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ru"}) == "ru"


def test_store_commands_work_without_telegram_and_refusals_are_one_line(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str, sessions: object
) -> None:
    cli_env.setenv("DATABASE_URL", database_url)
    cli_env.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    cli_env.setenv("TELEGRAM_API_BASE", "http://127.0.0.1:1")  # Telegram cannot be reached
    code, out, err = run(capsys, "store", "create", "--name", "Shop", "--time-zone", "Europe/Moscow")
    assert (code, err) == (0, ""), err  # no log lines without --verbose, and no Telegram needed
    store_id = int(re.match(r"store (\d+) created: Shop \(RUB, Europe/Moscow\)\n", out)[1])  # type: ignore[index]
    code, out, err = run(capsys, "store", "invite", "--store", str(store_id))
    assert code == 0
    assert re.fullmatch(r"/start partner_[\w-]{32}\n", out), out
    assert err == ("Telegram did not tell the bot's username (is it reachable?): "
                   "the partner sends the line above to the bot.\n")
    refusals = {
        ("store", "invite", "--store", "999999"): "There is no store 999999.",
        ("store", "token", "--store", "999999"): "There is no store 999999.",
        ("store", "create", "--name", " "): "A store name is 1 to 128 characters.",
        ("store", "create", "--name", "X", "--currency", "XX"): "A currency is a three-letter code such as RUB.",
        ("store", "product", "--store", str(store_id), "--name", "Tea", "--price", "cheap"):
            "The price is not a number.",
        ("operator", "link", "--email", "no@example.com"): "There is no operator with the e-mail no@example.com.",
    }
    for argv, says in refusals.items():
        code, out, err = run(capsys, *argv)
        assert (code, out, err) == (1, "", f"desk: {says}\n"), argv
    cli_env.setenv("LANG", "ru_RU.UTF-8")
    assert run(capsys, "store", "token", "--store", "999999")[2] == "desk: Магазина 999999 нет.\n"
    cli_env.setattr("sys.stdin", io.StringIO("short\n"))
    assert run(capsys, "admin", "create", "--email", "boss@example.com")[2] == (
        "desk: Пароль должен быть не короче 10 символов.\n")
    cli_env.delenv("LANG")
    code, out, err = run(capsys, "--verbose", "sla", "show")
    assert code == 0 and "high" in out
    assert '"level": "info"' in err  # --verbose: the log lines come back
