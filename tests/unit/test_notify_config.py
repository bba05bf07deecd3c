"""Notification settings: recipients are e-mail addresses or webhook URLs, triggers name flows, and a bad
setting is refused naming it; a [notify] table and TOML lists read like the flat settings."""

from pathlib import Path

import pytest

from derbridge.config import ConfigError, Settings, effective_config, load_settings
from derbridge.hub.notify.config import EMAIL, WEBHOOK, Recipient, notify_config


def test_recipients_split_into_e_mail_and_webhooks_and_triggers_into_flows() -> None:
    config = notify_config(Settings(
        notify_technical="ops@utility.example, https://hooks.utility.example/derbridge, ops@utility.example",
        notify_business="programs@utility.example", notify_on_completion="F1, f4", notify_on_error="F3",
        notify_smtp_url="smtp+starttls://relay%40utility:pa%3Ass@mail.utility.example", notify_webhook_secret="s"))
    assert config.recipients["technical"] == (Recipient("ops@utility.example", EMAIL),
                                              Recipient("https://hooks.utility.example/derbridge", WEBHOOK))
    assert config.recipients_of("F1", "completion") == (Recipient("programs@utility.example", EMAIL),)
    assert config.recipients_of("F2", "completion") == ()
    assert config.recipients_of("F3", "dead-letter")[0].address == "ops@utility.example"
    assert config.recipients_of("F5", "dead-letter") == ()
    assert config.recipients_of("F7", "no-file")[0].address == "ops@utility.example"  # * by default
    smtp = config.smtp
    assert smtp is not None and (smtp.host, smtp.port, smtp.security, smtp.user, smtp.password) == (
        "mail.utility.example", 587, "starttls", "relay@utility", "pa:ss")
    assert "pa:ss" not in repr(config)


@pytest.mark.parametrize(("changes", "named"), [
    ({"notify_technical": "ops at utility"}, "notify_technical"),
    ({"notify_business": "ftp://files.example"}, "notify_business"),
    ({"notify_on_error": "F1, F15"}, "notify_on_error: F15"),
    ({"notify_on_no_file": "scores"}, "notify_on_no_file"),
    ({"notify_technical": "ops@utility.example"}, "notify_smtp_url"),
    ({"notify_technical": "https://hooks.example/x"}, "notify_webhook_secret"),
    ({"notify_smtp_url": "http://mail.example"}, "notify_smtp_url"),
    ({"notify_from": "derbridge"}, "notify_from"),
    ({"notify_digest_keys": 0}, "notify_digest_keys"),
])
def test_a_bad_notification_setting_is_refused_naming_it(changes: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        notify_config(Settings().with_overrides(**changes))


def test_a_notify_table_with_lists_reads_as_the_flat_settings_and_secrets_are_masked(tmp_path: Path) -> None:
    config = tmp_path / "derbridge.toml"
    config.write_text('[notify]\ntechnical = ["ops@utility.example", "https://hooks.example/x"]\n'
                      'on_completion = ["F1", "F4"]\nwebhook_secret = "s3cret"\n'
                      'smtp_url = "smtps://relay:pw@mail.example"\n')
    settings = load_settings(env={"DERBRIDGE_CONFIG": str(config), "DERBRIDGE_NOTIFY_WINDOW_S": "5"})
    assert settings.notify_technical == "ops@utility.example, https://hooks.example/x"
    assert settings.notify_on_completion == "F1, F4" and settings.notify_window_s == 5.0
    shown = effective_config(settings)
    assert shown["notify_webhook_secret"] == "****" and shown["notify_smtp_url"] == "smtps://relay:****@mail.example"


def test_an_unknown_key_in_the_notify_table_is_named_with_its_prefix(tmp_path: Path) -> None:
    config = tmp_path / "derbridge.toml"
    config.write_text('[notify]\ntechnicl = "ops@utility.example"\n')
    with pytest.raises(ConfigError, match="notify_technicl"):
        load_settings(env={"DERBRIDGE_CONFIG": str(config)})
