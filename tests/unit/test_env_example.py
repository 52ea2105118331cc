"""Every setting is documented in .env.example (the issue's contract for configuration)."""

from pathlib import Path

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_listed_in_env_example() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"{name.upper()}=" not in text]
    assert missing == []
