"""Accounts from the shell, as an admin at the server runs them: the real `desk` process against the
test database, beside a running panel whose sessions and sockets it must end at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import WSMsgType
from sqlalchemy import select

from core.models import Operator, Ticket, WebSession
from core.security import verify_password
from core.services import tickets
from tests.integration.test_cli import DESK, desk_env
from tests.web.harness import customer_ticket, login, make_operator, start_panel

pytestmark = pytest.mark.slow


async def desk(tmp_path: Path, database_url: str, *args: str, stdin: str = "", **env: str) -> tuple[int, str, str]:
    environment = desk_env(tmp_path / "var", DATABASE_URL=database_url, **env)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        environment.pop(name, None)
    environment.update(env)
    done = await asyncio.to_thread(subprocess.run, [sys.executable, DESK, *args], input=stdin, capture_output=True,
                                   text=True, env=environment, cwd=tmp_path, timeout=60)
    return done.returncode, done.stdout, done.stderr


async def test_disable_enable_and_reset_from_the_shell_end_the_panel_sessions_at_once(
        database_url: str, sessions, tmp_path: Path) -> None:
    panel = await start_panel(database_url, tmp_path)
    try:
        await make_operator(sessions, "boss@example.com", role="admin")
        op_id = await make_operator(sessions, "op@example.com")
        ticket_id, _ = await customer_ticket(sessions, user_id=7301)
        closed_id, _ = await customer_ticket(sessions, user_id=7302)
        async with sessions() as session, session.begin():
            await tickets.assign(session, ticket_id, op_id, actor_kind="system", actor_id=None)
            await tickets.assign(session, closed_id, op_id, actor_kind="system", actor_id=None)
            await tickets.change_status(session, closed_id, "closed", actor_kind="system", actor_id=None)
        operator = panel.client()
        await login(panel, operator, "op@example.com")
        socket = await operator.ws_connect(panel.url("/ws"), headers={"Origin": panel.origin})

        code, out, err = await desk(tmp_path, database_url, "operator", "disable", "--email", "OP@example.com")
        assert (code, err) == (0, ""), err
        assert out == (f"op@example.com is disabled; 1 panel session(s) signed out.\n"
                       f"Open tickets returned to their queues (unassigned): #{ticket_id}.\n")
        async with asyncio.timeout(10):  # the panel's process heard it through the event bus
            while (await socket.receive()).type not in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                pass
        async with operator.get(panel.url("/api/me")) as response:
            assert response.status == 401, "the old session still works"
        async with sessions() as session:
            assert (await session.get(Ticket, ticket_id)).assignee_id is None
            assert (await session.get(Ticket, closed_id)).assignee_id == op_id, "a closed ticket keeps its history"
            assert await session.scalar(select(WebSession.id).where(
                WebSession.operator_id == op_id, WebSession.revoked_at.is_(None))) is None

        code, out, _ = await desk(tmp_path, database_url, "operator", "list")
        assert code == 0 and out.splitlines()[0] == "id\temail\tname\trole\tactive\topen_tickets"
        assert f"{op_id}\top@example.com\tOp\toperator\tno\t0" in out.splitlines()
        code, out, _ = await desk(tmp_path, database_url, "admin", "list")
        assert code == 0 and [line.split("\t")[1:] for line in out.splitlines()[1:]] == [
            ["boss@example.com", "Boss", "yes"]]

        code, out, _ = await desk(tmp_path, database_url, "operator", "enable", "--email", "op@example.com")
        assert (code, out) == (0, "op@example.com is enabled again (login lock lifted). Their password is unchanged.\n")
        await login(panel, operator, "op@example.com")  # the old password works again

        code, out, err = await desk(tmp_path, database_url, "operator", "reset-password", "--email", "op@example.com",
                                    LANG="ru_RU.UTF-8")
        assert (code, err) == (0, "")
        said, password = out.splitlines()
        assert said == "Новый пароль для op@example.com (показывается один раз; закрыто сеансов: 1):"
        assert len(password) >= 20
        async with operator.get(panel.url("/api/me")) as response:
            assert response.status == 401, "reset-password leaves the old session working"
        async with sessions() as session:
            stored = (await session.get(Operator, op_id)).password_hash
        assert stored.startswith("$argon2id$") and verify_password(stored, password)
        await login(panel, panel.client(), "op@example.com", password)

        code, out, err = await desk(tmp_path, database_url, "operator", "reset-password", "--email", "boss@example.com",
                                    "--stdin", stdin="chosen by the boss\n")
        assert (code, out, err) == (0, "Password of boss@example.com changed; 0 session(s) signed out.\n", "")
        await login(panel, panel.client(), "boss@example.com", "chosen by the boss")

        refusals = {("operator", "disable", "--email", "boss@example.com"):
                        "desk: This is the last active admin: make another admin first, or nobody could sign in.\n",
                    ("operator", "enable", "--email", "nobody@example.com"):
                        "desk: There is no operator with the e-mail nobody@example.com.\n"}
        for argv, says in refusals.items():
            assert await desk(tmp_path, database_url, *argv) == (1, "", says), argv
        code, _, err = await desk(tmp_path, database_url, "operator", "reset-password", "--email", "op@example.com",
                                  "--stdin", stdin="short\n")
        assert (code, err) == (1, "desk: The password must be at least 10 characters long.\n")
        async with sessions() as session:  # nothing changed by the refusals
            assert verify_password((await session.get(Operator, op_id)).password_hash, password)
            assert (await session.scalar(select(Operator.is_active).where(Operator.email == "boss@example.com")))

        assert (await desk(tmp_path, database_url, "--version"))[:2] == (0, "desk 0.1.0\n")
    finally:
        await panel.close()
