"""The invitation mail: enqueued on commit, sent by an idempotent task, holding the link."""

from __future__ import annotations

import functools

import pytest
from django.core import mail

from apps.core.actor import Actor
from apps.tenants import services, tasks
from apps.tenants.models import Invitation, Role

pytestmark = pytest.mark.django_db


def test_the_mail_task_is_enqueued_on_commit_with_the_invitation_id(
    team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        invitation = services.invitation_create(
            tenant=team.alpha,
            email="new@example.com",
            role=Role.MEMBER,
            actor=Actor(role=Role.OWNER),
        )
    assert len(callbacks) == 1
    callback = callbacks[0]
    assert isinstance(callback, functools.partial)
    assert callback.func == tasks.invitation_mail_send.delay
    assert callback.args == (str(invitation.pk),)
    assert mail.outbox == []  # nothing is sent inside the transaction


def test_the_task_mails_the_link_once(team, invite, settings):
    settings.ROOT_URL = "https://quayside.example"
    invitation, token = invite(team.alpha, "new@example.com", by=team.owner)
    assert tasks.invitation_mail_send(str(invitation.pk)) is True
    assert tasks.invitation_mail_send(str(invitation.pk)) is False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.com"]
    assert "Alpha" in message.subject and "alice@example.com" in message.subject
    link = f"https://quayside.example/invitations/{token}"
    assert link in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f'href="{link}"' in html
    invitation.refresh_from_db()
    assert invitation.mailed_at is not None


def test_a_resend_mails_the_new_link_and_a_stale_task_sends_nothing_more(team, invite):
    invitation, old_token = invite(team.alpha, "new@example.com")
    tasks.invitation_mail_send(str(invitation.pk))
    services.invitation_resend(invitation=invitation, actor=Actor(role=Role.OWNER))
    assert tasks.invitation_mail_send(str(invitation.pk)) is True
    assert tasks.invitation_mail_send(str(invitation.pk)) is False
    assert len(mail.outbox) == 2
    invitation.refresh_from_db()
    new_token = services.invitation_token(invitation)
    assert new_token in mail.outbox[1].body and old_token not in mail.outbox[1].body


def test_no_mail_for_a_revoked_or_missing_invitation(team, invite):
    invitation, _ = invite(team.alpha, "new@example.com")
    services.invitation_revoke(invitation=invitation, actor=Actor(role=Role.OWNER))
    assert tasks.invitation_mail_send(str(invitation.pk)) is False
    Invitation.objects.filter(pk=invitation.pk).delete()
    assert tasks.invitation_mail_send(str(invitation.pk)) is False
    assert mail.outbox == []


def test_a_failed_send_leaves_the_invitation_unmailed_for_the_retry(team, invite, monkeypatch):
    invitation, _ = invite(team.alpha, "new@example.com")

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(services.invitations, "send_mail", refuse)
    with pytest.raises(OSError):
        tasks.invitation_mail_send(str(invitation.pk))
    invitation.refresh_from_db()
    assert invitation.mailed_at is None
    monkeypatch.undo()
    assert tasks.invitation_mail_send(str(invitation.pk)) is True
