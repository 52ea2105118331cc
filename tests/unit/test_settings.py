import pytest

from core.settings import SettingsError, load_settings

CASES = [
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
    ({"DATABASE_URL": "mysql://u:p@h/db"}, "DATABASE_URL"),
    ({"WEB_PORT": "eighty"}, "WEB_PORT"),
    ({"WEB_PORT": "70000"}, "WEB_PORT"),
    ({"TELEGRAM_WEBHOOK_URL": "https://desk.example.com"}, "TELEGRAM_WEBHOOK_SECRET"),
    ({"TELEGRAM_API_BASE": "ftp://x"}, "TELEGRAM_API_BASE"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ({"IMAP_HOST": "mail.example.com"}, "IMAP_USER"),
    ({"DATABASE_DIRECT_URL": "postgresql://u@db:5432/desk"}, "DATABASE_DIRECT_URL"),
    ({"DATABASE_URL": "postgresql://u@db/d", "DATABASE_DIRECT_URL": "redis://db"}, "DATABASE_DIRECT_URL"),
    ({"DATABASE_POOLER": "pgpool"}, "DATABASE_POOLER"),
]


@pytest.mark.parametrize(("env", "named"), CASES)
def test_invalid_setting_gives_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert named in message
    assert "\n" not in message


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DATABASE_URL", "WEB_HOST", "WEB_PORT", "TELEGRAM_BOT_TOKEN", "DESK_DATA_DIR"):
        monkeypatch.delenv(key, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url is None
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert str(settings.desk_data_dir) == "var"
    assert not settings.bot_enabled
    assert settings.telegram_api_base == "https://api.telegram.org"


@pytest.mark.parametrize(("env", "pooled"), [
    ({"DATABASE_URL": "postgresql://u@bouncer:6432/desk"}, False),
    ({"DATABASE_URL": "postgresql://u@bouncer:6432/desk", "DATABASE_DIRECT_URL": "postgresql://u@db:5432/desk"},
     True),
    ({"DATABASE_URL": "postgresql://u@db:5432/desk", "DATABASE_DIRECT_URL": "postgresql://u@db:5432/desk"}, False),
    ({"DATABASE_URL": "postgresql://u@bouncer:6432/desk", "DATABASE_POOLER": "PgBouncer"}, True),
    ({"DATABASE_URL": "postgresql://u@bouncer:6432/desk", "DATABASE_DIRECT_URL": "postgresql://u@db:5432/desk",
      "DATABASE_POOLER": "none"}, False),
])
def test_the_pooler_is_pgbouncer_when_said_or_when_the_direct_url_differs(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], pooled: bool
) -> None:
    for key in ("DATABASE_URL", "DATABASE_DIRECT_URL", "DATABASE_POOLER"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_settings(_env_file=None).behind_pooler is pooled
