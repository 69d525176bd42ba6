"""Private to the billing services: their errors and the helpers they share (the
account row lock, the current period, who is told about payments, who may buy)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid

from django.db import transaction
from django.utils import timezone

from apps.core.inbox import inbox_send
from apps.core.problems import ApplicationError
from apps.tenants.models import Membership, Role

from .. import selectors
from ..models import BillingAccount

logger = logging.getLogger(__name__)


# --- Errors ---------------------------------------------------------------------------------


class BillingForbidden(ApplicationError):
    status = 403
    slug = "permission-denied"


class InsufficientCredits(ApplicationError):
    status = 402
    slug = "insufficient-credits"


# --- Helpers --------------------------------------------------------------------------------


def _ts(value: int | float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC) if value else None


def _lock(account: BillingAccount | uuid.UUID | str) -> BillingAccount:
    """The account row, locked for the rest of the caller's transaction. Only that row: the
    joined plan and tenant are read, not locked (a plan row is shared by every account on it)."""
    pk = account.pk if isinstance(account, BillingAccount) else account
    accounts = BillingAccount.objects.select_for_update(of=("self",))
    return accounts.select_related("plan", "tenant").get(pk=pk)


def _period_key(now: dt.datetime | None = None) -> str:
    return (now or timezone.now()).astimezone(dt.UTC).strftime("%Y-%m")


def _billing_people(account: BillingAccount):
    """Owner and admins: who is told about payments."""
    return [
        membership.user
        for membership in Membership.objects.filter(
            tenant=account.tenant, role__in=(Role.OWNER, Role.ADMIN)
        ).select_related("user")
    ]


def _tell(account: BillingAccount, *, kind: str, title: str, body: str, email: bool = False):
    """Inbox message to the owner and admins, and (on commit) an email."""
    for user in _billing_people(account):
        inbox_send(user=user, kind=kind, title=title, body=body, tenant=account.tenant)
    if email:
        from ..tasks import billing_notice_email

        transaction.on_commit(
            functools.partial(
                billing_notice_email.delay, account_id=str(account.pk), title=title, body=body
            )
        )


def _require_buyer(account: BillingAccount, role: str | None) -> None:
    """Owners buy; admins too when the tenant allows it (BillingAccount.admins_can_buy)."""
    if selectors.may_buy(account=account, role=role):
        return
    who = "the owner or an admin" if account.admins_can_buy else "the owner"
    raise BillingForbidden(f"Only {who} of this tenant may manage its billing.")
