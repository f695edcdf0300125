"""The README is the manual: it must list every setting and the two commands."""

from pathlib import Path

from server.auth.roles import Role
from server.settings import SETTINGS_HELP, Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented_with_its_default() -> None:
    defaults = Settings()
    for name in SETTINGS_HELP:
        row = next((line for line in README.splitlines() if f"`KAIKU_{name.upper()}`" in line), "")
        assert row, f"KAIKU_{name.upper()} missing from README"
        assert f"`{getattr(defaults, name)!s}`" in row


def test_every_setting_has_help() -> None:
    from dataclasses import fields

    assert {f.name for f in fields(Settings)} - {"extra"} == set(SETTINGS_HELP)


def test_the_two_commands_are_there() -> None:
    assert "python3 dev.py demo" in README
    assert "python3 dev.py test" in README


def test_the_security_section_covers_roles_storage_and_rotation() -> None:
    section = README.split("\n## Security\n", 1)[1].split("\n## ", 1)[0]
    for part in ("**Roles.**", "**Stored.**", "**Never stored.**", "**Headers.**"):
        assert part in section, part
    for part in ("**Rate limits**", "**Rotating API keys.**", "**Rotating the secret key.**"):
        assert part in section, part
    for role in Role:
        assert f"\n| {role.value} |" in section, f"role {role.value} is not in the roles table"
