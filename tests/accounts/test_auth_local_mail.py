"""Local mode's mail backend prints each mail and keeps it as one .eml file."""

from email import message_from_bytes

from django.core.mail import EmailMessage, get_connection
from django.test.utils import override_settings

from apps.core.mail import ConsoleAndFileEmailBackend


def test_each_mail_is_printed_and_written_as_one_eml_file(tmp_path, capsys):
    mailbox = tmp_path / "mail"
    messages = [
        EmailMessage("Confirm your email", f"Link {n}", "noreply@localhost", [f"u{n}@example.com"])
        for n in range(2)
    ]
    with override_settings(LOCAL_MAILBOX_DIR=str(mailbox)):
        backend = get_connection("apps.core.mail.ConsoleAndFileEmailBackend")
        assert isinstance(backend, ConsoleAndFileEmailBackend)
        assert backend.send_messages(messages) == 2

    files = sorted(mailbox.glob("*.eml"))
    assert len(files) == 2
    parsed = sorted(message_from_bytes(f.read_bytes())["To"] for f in files)
    assert parsed == ["u0@example.com", "u1@example.com"]
    assert "Confirm your email" in capsys.readouterr().out


def test_nothing_is_written_for_no_mail(tmp_path):
    with override_settings(LOCAL_MAILBOX_DIR=str(tmp_path / "mail")):
        assert get_connection("apps.core.mail.ConsoleAndFileEmailBackend").send_messages([]) == 0
    assert not (tmp_path / "mail").exists()
