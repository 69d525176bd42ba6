"""An app's custom domains in the tenant console: add one, the DNS TXT record to publish, its
verification state and its TLS certificate's, "verify now" and remove."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

from .. import selectors, services, tls
from ..models import AppDomain, DomainStatus
from . import _common as c


class DomainForm(forms.Form):
    hostname = forms.CharField(max_length=253, help_text="Such as www.example.com.")


@dataclass(frozen=True)
class DomainRow:
    domain: AppDomain
    certificate: tls.CertificateState


def domains_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """GET: the domains; POST: add one."""
    app = c.app_or_404(object_id)
    form = DomainForm()
    status = 200
    if request.method == "POST":
        c.require(request, c.DOMAIN_WRITE)
        form = DomainForm(request.POST)
        if form.is_valid():
            domain = c.run(
                request,
                form.cleaned_data["hostname"],
                lambda: services.domain_add(
                    app=app, tenant=request.tenant, actor=c.actor(request),
                    hostname=form.cleaned_data["hostname"],
                ),
            )  # fmt: skip
            if domain is not None:
                messages.success(
                    request, f"{domain.hostname} added: publish its TXT record, then verify it."
                )
                return HttpResponseRedirect(c.url("domains", app.pk) + f"#domain-{domain.pk}")
        status = 400
    rows = [
        DomainRow(d, tls.certificate_state(d.hostname, eligible=d.status == DomainStatus.VERIFIED))
        for d in selectors.domains_list(app=app).order_by("hostname")
    ]
    return c.render(
        request,
        "console/deploy/domains.html",
        app=app,
        title=f"{app.name}: domains",
        tab="domains",
        rows=rows,
        form=form,
        may_write=c.may(request, c.DOMAIN_WRITE),
        status=status,
    )


def _domain(app, domain_id) -> AppDomain:
    domain = selectors.domain_get(app=app, domain_id=domain_id)
    if domain is None:
        raise Http404("No such domain.")
    return domain


@require_POST
def domain_verify_view(request: HttpRequest, object_id: str, domain_id: str) -> HttpResponse:
    app = c.app_or_404(object_id)
    c.require(request, c.DOMAIN_WRITE)
    domain = c.run(
        request,
        "Verify",
        lambda: services.domain_verify(
            domain=_domain(app, domain_id), tenant=request.tenant, actor=c.actor(request)
        ),
    )
    if domain is not None:
        if domain.status == DomainStatus.VERIFIED:
            messages.success(request, f"{domain.hostname} is verified and routed to {app.name}.")
        else:
            messages.warning(request, f"{domain.hostname} is not verified yet: {domain.last_error}")
    return HttpResponseRedirect(c.url("domains", app.pk))


@require_POST
def domain_remove_view(request: HttpRequest, object_id: str, domain_id: str) -> HttpResponse:
    app = c.app_or_404(object_id)
    c.require(request, c.DOMAIN_WRITE)
    domain = _domain(app, domain_id)
    if c.run(
        request,
        domain.hostname,
        lambda: (
            services.domain_remove(domain=domain, tenant=request.tenant, actor=c.actor(request))
            or True
        ),
    ):
        messages.success(request, f"{domain.hostname} was removed.")
    return HttpResponseRedirect(c.url("domains", app.pk))
