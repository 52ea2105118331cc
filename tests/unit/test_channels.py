"""The channel registry answers capability questions; an unknown channel is a clear error."""

from __future__ import annotations

import pytest

from core.channels import ChannelRegistry, ChannelSpec, UnknownChannel
from core.errors import NotFound
from core.settings import load_settings
from desk import build_channels


def test_registry_answers_what_each_built_in_channel_can_do() -> None:
    channels = build_channels(load_settings(_env_file=None))
    assert [spec.name for spec in channels] == ["telegram", "email", "web"]
    assert channels.get("telegram").typing_indicator and not channels.get("email").typing_indicator
    assert channels.names_with("rates_on_close") == ["telegram", "web"]
    assert channels.names_with("customer_notices") == ["telegram", "email"]
    assert [spec.name for spec in channels.with_capability("edits")] == ["telegram"]
    assert channels.get("web").served


def test_files_and_rate_limits_come_from_the_adapters_and_settings() -> None:
    channels = build_channels(load_settings(_env_file=None, mail_max_bytes=1000, telegram_rate_per_chat=0.5))
    email, telegram = channels.get("email"), channels.get("telegram")
    assert email.files is not None and email.files.max_bytes == 1000
    assert telegram.rate_limit is not None and telegram.rate_limit.per_recipient == 0.5
    assert telegram.files is not None and "voice" in telegram.files.kinds


def test_unknown_channel_is_a_not_found_naming_it() -> None:
    channels = ChannelRegistry([ChannelSpec(name="telegram", label="Telegram")])
    with pytest.raises(UnknownChannel, match="'pigeon'") as caught:
        channels.get("pigeon")
    assert isinstance(caught.value, NotFound) and caught.value.params == {"channel": "pigeon"}
    assert "pigeon" not in channels and "telegram" in channels


def test_a_channel_is_registered_once_and_claims_nothing_it_does_not_declare() -> None:
    channels = ChannelRegistry()
    channels.register(ChannelSpec(name="sms", label="SMS"))
    with pytest.raises(ValueError, match="twice"):
        channels.register(ChannelSpec(name="sms", label="SMS again"))
    assert channels.with_capability("typing_indicator") == [] and channels.get("sms").files is None
