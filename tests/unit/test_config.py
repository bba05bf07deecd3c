"""Configuration: defaults, then the TOML file, then DERBRIDGE_* variables; secrets never shown."""

from pathlib import Path

import pytest

from derbridge.bootstrap import local_settings
from derbridge.config import REFERENCE_PEERS, ConfigError, effective_config, load_settings, mask_url


def test_defaults_put_one_sqlite_file_per_system_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings(env={"DERBRIDGE_DATA_DIR": str(tmp_path)})
    assert settings.database_url("hub") == f"sqlite:///{tmp_path.resolve() / 'hub.sqlite'}"
    assert settings.database_url("dacs").endswith("dacs.sqlite")
    assert settings.url("derms") == "http://127.0.0.1:8472"


def test_environment_overrides_the_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "derbridge.toml"
    config.write_text('hub_port = 9000\ndacs_url = "http://dacs.example:8080/"\nretry_max_attempts = 3\n')
    settings = load_settings(env={"DERBRIDGE_CONFIG": str(config), "DERBRIDGE_HUB_PORT": "9100"})
    assert settings.hub_port == 9100
    assert settings.url("dacs") == "http://dacs.example:8080"
    assert settings.retry_max_attempts == 3


def test_a_postgres_url_switches_one_system(tmp_path: Path) -> None:
    settings = load_settings(env={"DERBRIDGE_DERMS_DATABASE_URL": "postgresql://u:pw@db/derms"})
    assert settings.database_url("derms") == "postgresql://u:pw@db/derms"
    assert settings.database_url("hub").startswith("sqlite:///")


def test_effective_config_masks_secrets_and_database_passwords() -> None:
    settings = load_settings(env={"DERBRIDGE_DACS_AUTH": "hub:topsecret",
                                  "DERBRIDGE_HUB_DATABASE_URL": "postgresql://u:pw@db/hub"})
    shown = effective_config(settings)
    assert shown["dacs_auth"] == "****"
    assert shown["hub_database_url"] == "postgresql://u:****@db/hub"
    assert "topsecret" not in str(shown) and "pw@" not in str(shown)


def test_effective_config_masks_the_score_pickups_password_and_s3_secret() -> None:
    settings = load_settings(env={"DERBRIDGE_SCORE_PICKUP_SOURCE": "sftp://scores:dropsecret@files.example:2222/out",
                                  "DERBRIDGE_SCORE_PICKUP_S3_SECRET_KEY": "s3secret"})
    shown = effective_config(settings)
    assert shown["score_pickup_source"] == "sftp://scores:****@files.example:2222/out"
    assert "dropsecret" not in str(shown) and "s3secret" not in str(shown)


@pytest.mark.parametrize(("env", "message"), [
    ({"DERBRIDGE_HUB_PORT": "eighty"}, "hub_port"),
    ({"DERBRIDGE_CONFIG": "/nonexistent/derbridge.toml"}, "does not exist"),
])
def test_bad_settings_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_unknown_keys_in_the_toml_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "derbridge.toml"
    config.write_text("hub_prot = 9000\n")
    with pytest.raises(ConfigError, match="hub_prot"):
        load_settings(env={"DERBRIDGE_CONFIG": str(config)})


def test_mask_url_leaves_urls_without_passwords_alone() -> None:
    assert mask_url("sqlite:////tmp/x.sqlite") == "sqlite:////tmp/x.sqlite"
    assert mask_url("postgresql://u@db/x") == "postgresql://u@db/x"


def test_callers_come_from_a_toml_list_or_a_comma_separated_variable(tmp_path: Path) -> None:
    config = tmp_path / "derbridge.toml"
    config.write_text('hub_callers = ["dacs=cpmcs_int:pa,ss", "derms=Bearer tok"]\n')
    assert load_settings(env={"DERBRIDGE_CONFIG": str(config)}).hub_callers == ("dacs=cpmcs_int:pa,ss",
                                                                                 "derms=Bearer tok")
    from_env = load_settings(env={"DERBRIDGE_HUB_CALLERS": "dacs=cpmcs_int:pw, operator=ops:pw2"})
    assert from_env.hub_callers == ("dacs=cpmcs_int:pw", "operator=ops:pw2")


def test_effective_config_shows_callers_by_role_and_user_never_their_secrets() -> None:
    settings = load_settings(env={"DERBRIDGE_HUB_CALLERS": "dacs=cpmcs_int:hidden1,derms=Bearer hidden2"})
    shown = effective_config(settings)
    assert shown["hub_callers"] == ["dacs=cpmcs_int:****", "derms=Bearer ****"]
    assert "hidden" not in str(shown)


@pytest.mark.parametrize("entry", ["cpmcs_int:pw", "dacs=cpmcs_int", "dacs=Bearer ", "=u:p"])
def test_a_malformed_caller_is_refused_without_showing_it(entry: str) -> None:
    with pytest.raises(ConfigError, match="hub_callers") as refused:
        load_settings(env={"DERBRIDGE_HUB_CALLERS": entry})
    assert "pw" not in str(refused.value)


def test_by_default_the_hub_assumes_nothing_beyond_the_vendors_payloads(tmp_path: Path) -> None:
    settings = load_settings(env={"DERBRIDGE_DATA_DIR": str(tmp_path)})
    assert not any(getattr(settings, name) for name in REFERENCE_PEERS)


def test_reference_peers_turn_every_switch_on_unless_the_configuration_says_otherwise(tmp_path: Path) -> None:
    settings = load_settings(env={"DERBRIDGE_DACS_BATCH": "false"}, defaults=REFERENCE_PEERS,
                             config_file=_empty_config(tmp_path))
    assert settings.derms_batch and settings.derms_enroll_callback and settings.store_and_forward
    assert not settings.dacs_batch
    assert all(getattr(local_settings(tmp_path), name) for name in REFERENCE_PEERS)


def _empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "derbridge.toml"
    path.write_text("")
    return path
