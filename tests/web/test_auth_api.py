"""Sign-in, sessions, throttling, CSRF, origin, API tokens and security headers, through HTTP."""

from __future__ import annotations

from tests.web.harness import PASSWORD, Panel, login, make_operator
from web.keys import PANEL


async def test_login_sets_a_hardened_cookie_and_answers_a_csrf_token(panel: Panel, sessions) -> None:
    await make_operator(sessions, "ann@example.com")
    client = panel.client()
    async with client.post(panel.url("/api/auth/login"), json={"email": "ANN@example.com", "password": PASSWORD}) as r:
        assert r.status == 200
        body = await r.json()
        cookie = r.headers["Set-Cookie"]
    assert body["csrf_token"] and body["operator"]["email"] == "ann@example.com"
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    async with client.get(panel.url("/api/me")) as r:
        assert (await r.json())["csrf_token"] == body["csrf_token"]


async def test_wrong_password_is_refused_in_the_operators_language_without_saying_which_part(
    panel: Panel, sessions
) -> None:
    await make_operator(sessions, "ru@example.com", language="ru")
    client = panel.client()
    async with client.post(
        panel.url("/api/auth/login"),
        json={"email": "ru@example.com", "password": "nope"},
        headers={"Accept-Language": "ru"},
    ) as r:
        assert r.status == 401
        body = await r.json()
    assert body == {"error": "invalid_credentials", "message": "Неверный e-mail или пароль."}
    async with client.post(panel.url("/api/auth/login"), json={"email": "nobody@example.com", "password": "x"}) as r:
        assert r.status == 401
        assert (await r.json())["error"] == "invalid_credentials"


async def test_repeated_failures_slow_the_login_then_lock_it(panel: Panel, sessions) -> None:
    await make_operator(sessions, "bob@example.com")
    client = panel.client()
    policy = panel.app[PANEL].throttle
    statuses = []
    for _ in range(policy.slow_after):
        async with client.post(panel.url("/api/auth/login"), json={"email": "bob@example.com", "password": "x"}) as r:
            statuses.append(r.status)
    assert statuses == [401] * policy.slow_after
    # slowed: even the right password waits until the delay is over
    async with client.post(panel.url("/api/auth/login"), json={"email": "bob@example.com", "password": PASSWORD}) as r:
        assert r.status == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert (await r.json())["error"] == "login_throttled"
    for _ in range(policy.lock_after - policy.slow_after):
        panel.clock.advance(seconds=policy.max_delay + 1)
        async with client.post(panel.url("/api/auth/login"), json={"email": "bob@example.com", "password": "x"}) as r:
            last = r.status
    assert last == 429
    panel.clock.advance(seconds=policy.max_delay + 1)
    async with client.post(panel.url("/api/auth/login"), json={"email": "bob@example.com", "password": PASSWORD}) as r:
        assert r.status == 429
        assert (await r.json())["error"] == "login_locked"
    panel.clock.advance(seconds=policy.lock_seconds + 1)
    assert await login(panel, client, "bob@example.com")


async def test_login_body_is_validated_field_by_field(panel: Panel, sessions) -> None:
    client = panel.client()
    async with client.post(panel.url("/api/auth/login"), json={"email": "", "extra": 1}) as r:
        assert r.status == 422
        body = await r.json()
    assert body["error"] == "validation"
    assert set(body["fields"]) == {"email", "password", "extra"}
    async with client.post(
        panel.url("/api/auth/login"), data=b"{not json", headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 422
        assert "body" in (await r.json())["fields"]


async def test_mutating_request_without_csrf_token_is_refused(panel: Panel, sessions) -> None:
    await make_operator(sessions, "cat@example.com")
    client = panel.client()
    csrf = await login(panel, client, "cat@example.com")
    async with client.patch(panel.url("/api/me"), json={"language": "ru"}) as r:
        assert r.status == 403
        assert (await r.json())["error"] == "csrf"
    async with client.patch(panel.url("/api/me"), json={"language": "ru"}, headers={"X-CSRF-Token": "forged"}) as r:
        assert r.status == 403
    async with client.patch(panel.url("/api/me"), json={"language": "ru"}, headers={"X-CSRF-Token": csrf}) as r:
        assert r.status == 200
        assert (await r.json())["language"] == "ru"


async def test_an_operator_chooses_a_time_zone_or_follows_the_browser(panel: Panel, sessions) -> None:
    await make_operator(sessions, "tz@example.com")
    client = panel.client()
    csrf = {"X-CSRF-Token": await login(panel, client, "tz@example.com")}
    async with client.get(panel.url("/api/me")) as r:
        assert (await r.json())["time_zone"] is None  # the browser's until chosen
    async with client.patch(panel.url("/api/me"), json={"time_zone": "Asia/Tokyo"}, headers=csrf) as r:
        assert r.status == 200 and (await r.json())["time_zone"] == "Asia/Tokyo"
    async with client.patch(panel.url("/api/me"), json={"time_zone": "Mars/Olympus"}, headers=csrf) as r:
        assert r.status == 422 and "time_zone" in (await r.json())["fields"]
    async with client.get(panel.url("/api/me")) as r:
        assert (await r.json())["time_zone"] == "Asia/Tokyo"  # the refused change changed nothing
    async with client.patch(panel.url("/api/me"), json={"time_zone": ""}, headers=csrf) as r:
        assert r.status == 200 and (await r.json())["time_zone"] is None


async def test_mutating_request_from_a_foreign_origin_is_refused(panel: Panel, sessions) -> None:
    await make_operator(sessions, "dan@example.com")
    client = panel.client()
    csrf = await login(panel, client, "dan@example.com")
    headers = {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    async with client.post(panel.url("/api/auth/logout"), headers=headers) as r:
        assert r.status == 403
        assert (await r.json())["error"] == "origin"


async def test_logout_revokes_the_session_on_the_server(panel: Panel, sessions) -> None:
    await make_operator(sessions, "eve@example.com")
    client = panel.client()
    csrf = await login(panel, client, "eve@example.com")
    stolen = {c.key: c.value for c in client.cookie_jar}
    async with client.post(panel.url("/api/auth/logout"), headers={"X-CSRF-Token": csrf}) as r:
        assert r.status == 200
    replay = panel.client()
    replay.cookie_jar.update_cookies(stolen)
    async with replay.get(panel.url("/api/me")) as r:
        assert r.status == 401
        assert (await r.json()) == {"error": "unauthorized", "message": "Please sign in."}


async def test_log_out_everywhere_ends_every_session_of_the_account(panel: Panel, sessions) -> None:
    await make_operator(sessions, "fay@example.com")
    laptop, phone = panel.client(), panel.client()
    csrf = await login(panel, laptop, "fay@example.com")
    await login(panel, phone, "fay@example.com")
    async with laptop.get(panel.url("/api/me/sessions")) as r:
        assert len((await r.json())["items"]) == 2
    async with laptop.post(panel.url("/api/auth/logout-all"), headers={"X-CSRF-Token": csrf}) as r:
        assert (await r.json())["revoked"] == 2
    async with phone.get(panel.url("/api/me")) as r:
        assert r.status == 401


async def test_an_idle_session_expires(panel: Panel, sessions) -> None:
    await make_operator(sessions, "gus@example.com")
    client = panel.client()
    await login(panel, client, "gus@example.com")
    panel.clock.advance(hours=11)
    async with client.get(panel.url("/api/me")) as r:
        assert r.status == 200  # activity slides the idle deadline
    panel.clock.advance(hours=11)
    async with client.get(panel.url("/api/me")) as r:
        assert r.status == 200
    panel.clock.advance(hours=13)
    async with client.get(panel.url("/api/me")) as r:
        assert r.status == 401


async def test_api_token_works_as_bearer_is_stored_as_digest_and_can_be_revoked(panel: Panel, sessions) -> None:
    from sqlalchemy import select

    from core.models import ApiToken
    from core.security import token_digest

    await make_operator(sessions, "hal@example.com")
    client = panel.client()
    csrf = await login(panel, client, "hal@example.com")
    async with client.post(panel.url("/api/tokens"), json={"name": "export"}, headers={"X-CSRF-Token": csrf}) as r:
        assert r.status == 201
        created = await r.json()
    plain = created["token"]
    async with sessions() as session:
        stored = (await session.scalars(select(ApiToken.token_digest))).all()
    assert stored == [token_digest(plain)] and plain not in stored
    script = panel.client()
    auth = {"Authorization": f"Bearer {plain}"}
    async with script.get(panel.url("/api/tickets"), headers=auth) as r:
        assert r.status == 200
    async with script.post(panel.url("/api/tokens"), json={"name": "more"}, headers=auth) as r:
        assert r.status == 403  # a token cannot mint tokens
    async with client.get(panel.url("/api/tokens")) as r:
        assert [t["name"] for t in (await r.json())["items"]] == ["export"]
        assert "token" not in {k for t in (await r.json())["items"] for k, v in t.items() if v}
    async with client.delete(panel.url(f"/api/tokens/{created['id']}"), headers={"X-CSRF-Token": csrf}) as r:
        assert r.status == 200
    async with script.get(panel.url("/api/tickets"), headers=auth) as r:
        assert r.status == 401
    async with script.get(panel.url("/api/tickets"), headers={"Authorization": "Bearer desk_forged"}) as r:
        assert r.status == 401


async def test_someone_elses_token_cannot_be_revoked_and_looks_missing(panel: Panel, sessions) -> None:
    await make_operator(sessions, "ian@example.com")
    await make_operator(sessions, "jo@example.com")
    ian, jo = panel.client(), panel.client()
    ian_csrf = await login(panel, ian, "ian@example.com")
    jo_csrf = await login(panel, jo, "jo@example.com")
    async with ian.post(panel.url("/api/tokens"), json={"name": "mine"}, headers={"X-CSRF-Token": ian_csrf}) as r:
        token_id = (await r.json())["id"]
    async with jo.delete(panel.url(f"/api/tokens/{token_id}"), headers={"X-CSRF-Token": jo_csrf}) as r:
        assert r.status == 404


async def test_every_response_carries_the_security_headers(panel: Panel, sessions) -> None:
    client = panel.client()
    for path in ("/login", "/api/me", "/api/openapi.json", "/static/panel.js"):
        async with client.get(panel.url(path)) as r:
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
            assert r.headers["X-Frame-Options"] == "DENY"
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Referrer-Policy"] == "same-origin"


async def test_pages_redirect_to_login_and_the_login_page_has_no_inline_script(panel: Panel, sessions) -> None:
    client = panel.client()
    async with client.get(panel.url("/inbox"), allow_redirects=False) as r:
        assert r.status == 302
        assert r.headers["Location"] == "/login?next=/inbox"
    async with client.get(panel.url("/login")) as r:
        html = await r.text()
    import re

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    for attributes, _content in scripts:
        assert 'type="module" src=' in attributes or 'type="application/json"' in attributes
    assert "onclick" not in html and "onerror" not in html


async def test_invite_link_sets_a_password_once(panel: Panel, sessions) -> None:
    await make_operator(sessions, "root@example.com", role="admin")
    admin = panel.client()
    csrf = await login(panel, admin, "root@example.com")
    async with admin.post(
        panel.url("/api/operators"),
        json={"email": "new@example.com", "role": "operator"},
        headers={"X-CSRF-Token": csrf},
    ) as r:
        assert r.status == 201
        link = (await r.json())["link"]
    token = link.split("#", 1)[1]
    newcomer = panel.client()
    async with newcomer.post(
        panel.url("/api/auth/password"), json={"token": token, "password": "a brand new pass"}
    ) as r:
        assert r.status == 200
    assert await login(panel, newcomer, "new@example.com", "a brand new pass")
    async with panel.client().post(
        panel.url("/api/auth/password"), json={"token": token, "password": "another password"}
    ) as r:
        assert r.status == 400
        assert (await r.json())["error"] == "link_invalid"


async def test_pages_follow_the_operators_language(panel: Panel, sessions) -> None:
    await make_operator(sessions, "ivan@example.com", language="ru")
    client = panel.client()
    await login(panel, client, "ivan@example.com")
    async with client.get(panel.url("/inbox")) as r:
        html = await r.text()
    assert '<html lang="ru">' in html and "Входящие" in html and "Незакрытые" in html
    async with client.get(panel.url("/api/tickets/999")) as r:
        assert (await r.json())["message"] == "Не найдено."
