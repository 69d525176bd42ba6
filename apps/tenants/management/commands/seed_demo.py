"""Demo data for `make run`: an operator, and a demo tenant with its owner. Idempotent.
The demo tenant's app comes from deploy's `seed_demo_app`, its monitor and status page from
monitoring's `seed_demo_monitoring` (scripts/run.sh runs the three in that order)."""

import os

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.core.actor import Actor
from apps.tenants.models import Membership, Role, Tenant
from apps.tenants.services import tenant_create

OPERATOR = ("admin@quayside.localhost", "quayside-admin")
OWNER = ("owner@demo.localhost", "quayside-demo")
DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Create the demo operator, the demo tenant and its owner (for local use only)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG off.")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo writes known passwords; it runs only with DEBUG on.")
        with transaction.atomic():
            operator = self._user(*OPERATOR, staff=True)
            owner = self._user(*OWNER, staff=False)
            tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
            if tenant is None:
                tenant = tenant_create(
                    name="Demo", slug=DEMO_SLUG, owner=owner, actor=Actor(user=operator)
                )
            Membership.objects.get_or_create(
                tenant=tenant, user=owner, defaults={"role": Role.OWNER}
            )
        port = os.environ.get("PORT", "8000")
        self.stdout.write(
            self.style.SUCCESS("Demo data ready.")
            + f"\n  Operator: {OPERATOR[0]} / {OPERATOR[1]}"
            + f"\n  Demo tenant owner: {OWNER[0]} / {OWNER[1]}"
            + f"\n  Demo tenant: http://{DEMO_SLUG}.{settings.BASE_DOMAIN}:{port}/"
        )

    def _user(self, email: str, password: str, *, staff: bool):
        user, _ = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
        user.email = email
        user.is_staff = staff
        user.is_superuser = staff
        user.is_active = True
        user.set_password(password)
        user.save()
        # A verified address: the demo logins need no confirmation mail.
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
