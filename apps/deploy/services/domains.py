"""Custom domains of apps: add (one claim per hostname), verify by DNS TXT record, remove."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.core.actor import Actor
from apps.core.audit import audit_as, audit_record
from apps.core.inbox import inbox_send
from apps.core.locks import advisory_xact_lock
from apps.core.problems import Conflict, InvalidInput
from apps.tenants.models import Membership, Role, Tenant

from .. import quota, selectors
from ..models import App, AppDomain, DomainStatus
from ._common import routes_sync_quietly

HOSTNAME = re.compile(r"(?=.{4,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def domain_record_name(domain: AppDomain) -> str:
    return domain.record_name


def domain_record_value(domain: AppDomain) -> str:
    return domain.record_value


def _hostname_lock(hostname: str) -> None:
    """Serialise the claims on a custom hostname across tenants until the transaction ends.
    Each tenant's domains live in its own schema, so no unique index spans them: adding and
    verifying take this lock, then look at every schema (selectors.domain_claims)."""
    advisory_xact_lock(f"quayside.domain:{hostname}")


@transaction.atomic
def domain_add(*, app: App, tenant, actor: Actor, hostname: str) -> AppDomain:
    """A pending claim on `hostname`. Other tenants may hold pending claims on it too (a
    pending domain takes nothing, so nobody can squat one): the first to verify it gets it. A
    hostname verified by anyone, or claimed already in this tenant, is refused, and so is one
    more claim beyond the tenant's `custom_domains` limit (pending claims count)."""
    hostname = (hostname or "").strip().lower().rstrip(".")
    if not HOSTNAME.fullmatch(hostname):
        raise InvalidInput("That is not a hostname such as www.example.com.", field="hostname")
    for reserved in (settings.APPS_DOMAIN, settings.BASE_DOMAIN):
        if hostname == reserved or hostname.endswith("." + reserved):
            raise InvalidInput(f"Hostnames under {reserved} are Quayside's.", field="hostname")
    quota.check_domain_quota(tenant=tenant)  # its lock first, then the hostname's (always)
    _hostname_lock(hostname)
    if AppDomain.objects.filter(hostname=hostname).exists() or selectors.hostname_taken(hostname):
        raise InvalidInput(f"{hostname} is already in use.", field="hostname", code="taken")
    try:
        with transaction.atomic():
            domain = AppDomain.objects.create(
                app=app, hostname=hostname, verification_token=secrets.token_hex(16)
            )
    except IntegrityError as exc:
        raise InvalidInput(f"{hostname} is already in use.", field="hostname") from exc
    audit_as(actor, "domain.added", tenant=tenant, target=app, hostname=hostname)
    return domain


def _txt_values(name: str) -> list[str]:
    import dns.exception
    import dns.nameserver
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not settings.DEPLOY_DNS_NAMESERVERS)
    if settings.DEPLOY_DNS_NAMESERVERS:
        servers = []
        for entry in settings.DEPLOY_DNS_NAMESERVERS:  # "host" or "host:port" (IPv4)
            host, _, port = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
            servers.append(dns.nameserver.Do53Nameserver(host, int(port or 53)))
        resolver.nameservers = servers
    resolver.lifetime = settings.DEPLOY_DNS_TIMEOUT_S
    try:
        answer = resolver.resolve(name, "TXT")
    except dns.resolver.NXDOMAIN as exc:
        raise LookupError(f"{name} does not exist.") from exc
    except dns.resolver.NoAnswer as exc:
        raise LookupError(f"{name} has no TXT record.") from exc
    except dns.exception.DNSException as exc:
        raise LookupError(f"Looking up {name} failed ({type(exc).__name__}).") from exc
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def domain_verify(*, domain: AppDomain, tenant, actor: Actor) -> AppDomain:
    """Look for the TXT record; verified domains are routed at once. Not verified: the domain
    says why in `last_error` (also when another tenant verified the hostname first). Verifying
    drops the other tenants' pending claims on the hostname and tells their owners and admins
    (domain.claim_dropped, in their inbox); a claim dropped so answers 409 here."""
    name, expected = domain_record_name(domain), domain_record_value(domain)
    error = ""
    try:
        values = _txt_values(name)
        if expected not in values:
            error = f"{name} has TXT records, but not {expected}."
    except LookupError as exc:
        error = str(exc)
    with transaction.atomic():
        _hostname_lock(domain.hostname)
        current = AppDomain.objects.select_for_update().filter(pk=domain.pk).first()
        if current is None:
            raise Conflict(
                f"{domain.hostname} was verified by another account first; this claim was dropped."
            )
        domain = current
        pending = domain.status != DomainStatus.VERIFIED
        if not error and pending and selectors.hostname_taken(domain.hostname):
            error = f"{domain.hostname} was verified by another account first."
        domain.last_checked_at = timezone.now()
        domain.last_error = error[:255]
        fields = ["last_checked_at", "last_error", "updated_at"]
        if not error and domain.status != DomainStatus.VERIFIED:
            domain.status = DomainStatus.VERIFIED
            domain.verified_at = domain.last_checked_at
            fields += ["status", "verified_at"]
            audit_as(actor, "domain.verified", tenant=tenant, target=domain.app,
                hostname=domain.hostname,
            )  # fmt: skip
            transaction.on_commit(routes_sync_quietly)
            _domain_claims_drop(domain)
        domain.save(update_fields=fields)
    return domain


def _domain_claims_drop(domain: AppDomain) -> None:
    """Delete the other tenants' pending claims on `domain.hostname`, just verified here (under
    _hostname_lock), and tell each of those tenants' owners and admins."""
    here = connection.schema_name
    for claim in selectors.domain_claims(domain.hostname):
        if claim.schema.schema_name == here or claim.status != DomainStatus.PENDING:
            continue
        quoted = connection.ops.quote_name(claim.schema.schema_name)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {quoted}.deploy_appdomain WHERE id = %s AND status = %s RETURNING id",
                [claim.domain_id, DomainStatus.PENDING.value],
            )
            if cursor.fetchone() is None:
                continue
        other = Tenant.objects.filter(pk=claim.schema.tenant_id).first()
        audit_record(
            action="domain.claim_dropped",
            tenant=other,
            target_type="deploy.app",
            target_id=str(claim.app_id),
            metadata={"hostname": domain.hostname, "app": claim.app_name},
        )
        body = (
            f"Another Quayside account published the TXT record for {domain.hostname} and "
            f"verified it first, so the pending domain was removed from the app "
            f"'{claim.app_name}'. If you control this hostname, check who else can change its "
            "DNS, then contact support."
        )
        recipients = Membership.objects.filter(
            tenant_id=claim.schema.tenant_id, role__in=[Role.OWNER, Role.ADMIN]
        ).select_related("user")
        for membership in recipients:
            inbox_send(
                user=membership.user,
                kind="domain.claim_dropped",
                title=f"{domain.hostname} was verified by another account",
                body=body,
                tenant=other,
                data={"app_id": str(claim.app_id), "hostname": domain.hostname},
            )


@transaction.atomic
def domain_remove(*, domain: AppDomain, tenant, actor: Actor) -> None:
    was_verified = domain.status == DomainStatus.VERIFIED
    audit_as(actor, "domain.removed", tenant=tenant, target=domain.app, hostname=domain.hostname)
    domain.delete()
    if was_verified:
        transaction.on_commit(routes_sync_quietly)
