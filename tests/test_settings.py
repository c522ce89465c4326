"""Settings: every one documented in docs/settings.md, overridable by environment and TOML file, validated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from claims.config import Settings, load_settings

README = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def settings_section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- section:settings -->(.*?)<!-- /section:settings -->", text, re.S)
    assert match, "docs/settings.md has no settings section"
    return match.group(1)


@pytest.fixture(autouse=True)
def clean_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray claimbot.toml
    for name in list(__import__("os").environ):
        if name.startswith("CLAIMBOT_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_in_the_readme_table(name):
    assert re.search(rf"^\| `{name}` \|", settings_section(), re.M), f"docs/settings.md table lacks {name}"


@pytest.mark.parametrize("name, field", list(Settings.model_fields.items()))
def test_every_setting_has_help_text(name, field):
    assert field.description and len(field.description) > 10


def render_default(field) -> str:
    value = field.get_default(call_default_factory=True)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return '""' if value == "" else str(value)


def readme_row(name: str, field) -> str:
    """The docs/settings.md table row for one setting (copy it there when this test fails)."""
    return f"| `{name}` | {render_default(field)} | {field.description} |"


@pytest.mark.parametrize("name, field", list(Settings.model_fields.items()))
def test_readme_shows_each_settings_current_default_and_help(name, field):
    expected = readme_row(name, field)
    assert expected in settings_section().splitlines(), f"docs/settings.md row should read:\n{expected}"


def test_readme_lists_no_setting_that_does_not_exist():
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", settings_section(), re.M))
    assert listed == set(Settings.model_fields)


def test_environment_variables_override_defaults(monkeypatch):
    monkeypatch.setenv("CLAIMBOT_AUTO_APPROVE_MAX_VALUE", "99.5")
    monkeypatch.setenv("CLAIMBOT_REVIEWERS", "ana:pw")
    settings = load_settings()
    assert settings.auto_approve_max_value == 99.5 and settings.reviewers == "ana:pw"


def test_toml_file_is_read_and_environment_wins_over_it(tmp_path, monkeypatch):
    path = tmp_path / "custom.toml"
    path.write_text('max_photos = 3\nclaim_window_days = 14\n[default_resolution]\nbroken = "refund"\n')
    monkeypatch.setenv("CLAIMBOT_SETTINGS_FILE", str(path))
    monkeypatch.setenv("CLAIMBOT_MAX_PHOTOS", "5")
    settings = load_settings()
    assert (settings.max_photos, settings.claim_window_days) == (5, 14)
    assert settings.default_resolution["broken"] == "refund"


def test_keyword_arguments_win_over_everything(monkeypatch):
    monkeypatch.setenv("CLAIMBOT_MAX_PHOTOS", "5")
    assert load_settings(max_photos=2).max_photos == 2


@pytest.mark.parametrize(
    "field, value",
    [("vision_confidence_threshold", 1.5), ("max_photos", 0), ("max_photo_bytes", 10), ("sla_high_hours", 0)],
)
def test_out_of_range_values_are_refused(field, value):
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_defaults_match_the_design():
    s = Settings()
    assert (s.sla_high_hours, s.sla_normal_hours) == (1.0, 24.0)
    assert s.sla_hours("high") == 1.0 and s.sla_hours("normal") == 24.0
    assert s.reviewers == ""  # no default account in code


def test_a_webhook_url_without_a_secret_is_refused_with_the_variable_to_set():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="CLAIMBOT_WEBHOOK_SECRET"):
        Settings(webhook_url="http://127.0.0.1:9/hook")
    assert Settings(webhook_url="http://127.0.0.1:9/hook", webhook_secret="s3cret").webhook_secret == "s3cret"
