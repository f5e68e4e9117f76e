"""MUNIWATCH_SMTP_URL parsing, and the outbox writer's file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.alerts.smtp import OutboxTransport, SMTPTransport, make_transport, parse_smtp_url
from pipeline.settings import Settings

pytestmark = pytest.mark.unit


def test_plain_smtp_with_credentials_and_options() -> None:
    options = parse_smtp_url("smtp://alerts%40org:p%3Ass@mail.example.org:587?starttls=require&timeout=5")
    assert (options.host, options.port, options.username, options.password) == (
        "mail.example.org",
        587,
        "alerts@org",
        "p:ss",
    )
    assert options.starttls == "require" and not options.implicit_tls and options.timeout == 5.0
    assert "p:ss" not in options.description


def test_smtps_is_implicit_tls_on_465_by_default() -> None:
    options = parse_smtp_url("smtps://mail.example.org")
    assert options.implicit_tls and options.port == 465 and options.starttls == "never"
    assert parse_smtp_url("smtp://localhost").port == 25
    assert not parse_smtp_url("smtp://localhost?verify=false").verify


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.org", "must start with smtp:// or smtps://"),
        ("smtp://", "has no host"),
        ("smtp://h?starttls=maybe", "starttls must be auto, require or never"),
        ("smtp://h?colour=blue", "unknown option(s) colour"),
        ("smtp://h:notaport", "bad port or timeout"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ValueError, match="MUNIWATCH_SMTP_URL") as error:
        parse_smtp_url(url)
    assert message in str(error.value)


def test_transport_follows_the_settings(offline_settings: Settings) -> None:
    assert isinstance(make_transport(offline_settings), OutboxTransport)
    assert isinstance(
        make_transport(offline_settings.with_overrides(smtp_url="smtp://127.0.0.1:2525")), SMTPTransport
    )


def test_outbox_file_names_come_from_the_message_id(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path)
    assert outbox.path_for("<abc.alert@example.org>") == tmp_path / "abc.alert@example.org.eml"
    assert outbox.path_for("<../../etc/passwd>").parent == tmp_path
    outbox.send(b"one", sender="a@example.org", recipient="b@example.org", message_id="<m@example.org>")
    outbox.send(b"two", sender="a@example.org", recipient="b@example.org", message_id="<m@example.org>")
    assert [p.name for p in tmp_path.iterdir()] == ["m@example.org.eml"]
    assert (tmp_path / "m@example.org.eml").read_bytes() == b"two"
