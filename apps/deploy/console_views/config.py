"""An app's env vars in the tenant console: names with masked values; set (add or edit) and
unset, each saved as a new release that is deployed at once (`env_vars_update(restart=True)`);
revealing one value asks for the password again and is audited by `env_var_reveal`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.api.throttling import window_hit, window_state
from apps.core.audit import audit_record

from .. import selectors, services
from . import _common as c


class EnvVarForm(forms.Form):
    key = forms.CharField(max_length=255, label="Name")
    value = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "spellcheck": "false"}),
        max_length=services.MAX_ENV_VALUE,
        required=False,
    )


class RevealForm(forms.Form):
    key = forms.CharField(max_length=255, widget=forms.HiddenInput)
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Your password again: revealing a value is recorded in the audit log.",
    )


# Wrong passwords on the reveal page, per person, in fixed windows: after REVEAL_FAILURES[0] in
# REVEAL_FAILURES[1] seconds the page refuses (429) until the window ends, so it cannot be used
# to guess a password that a stolen session does not carry.
REVEAL_FAILURES = (5, 900)


def _reveal_budget(user) -> str:
    return f"console:reveal-failed:{user.pk}"


def _reveal_wait_s(user) -> int:
    """Seconds until this person may try again, 0 when they may now."""
    limit, period = REVEAL_FAILURES
    state = window_state(_reveal_budget(user), limit=limit, period=period)
    return state.reset_s if state.exceeded else 0


def _reveal_failed(request: HttpRequest, app, key: str) -> None:
    limit, period = REVEAL_FAILURES
    window_hit(_reveal_budget(request.user), limit=limit, period=period)
    audit_record(
        action="env_var.reveal_refused",
        actor=request.user,
        tenant=request.tenant,
        target=app,
        metadata={"app": app.name, "key": key[:255], "reason": "wrong password"},
        severity="warning",
    )


def _saved(request: HttpRequest, app, result) -> HttpResponse:
    release, deployment = result
    if deployment is not None:
        messages.success(request, f"v{release.version}: {release.description}. Deploying it.")
        return HttpResponseRedirect(c.url("deployment", app.pk, deployment.pk))
    messages.success(
        request, f"v{release.version}: {release.description}. It runs at the next deploy."
    )
    return HttpResponseRedirect(c.url("env", app.pk))


def env_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """GET: the names; POST: set one (add or edit)."""
    app = c.app_or_404(object_id)
    form = EnvVarForm(initial={"key": request.GET.get("key", "")})
    status = 200
    if request.method == "POST":
        c.require(request, c.ENV_WRITE)
        form = EnvVarForm(request.POST)
        if form.is_valid():
            key, value = form.cleaned_data["key"].strip(), form.cleaned_data["value"]
            result = c.run(
                request,
                key,
                lambda: services.env_vars_update(
                    app=app, tenant=request.tenant, actor=c.actor(request),
                    changes={key: value}, restart=True,
                ),
            )  # fmt: skip
            if result is not None:
                return _saved(request, app, result)
        status = 400
    return c.render(
        request,
        "console/deploy/env.html",
        app=app,
        title=f"{app.name}: env vars",
        tab="env",
        variables=list(selectors.env_vars_list(app=app).order_by("key")),
        form=form,
        editing=bool(request.GET.get("key")),
        may_write=c.may(request, c.ENV_WRITE),
        may_reveal=c.may(request, c.REVEAL),
        status=status,
    )


@require_POST
def env_unset_view(request: HttpRequest, object_id: str) -> HttpResponse:
    app = c.app_or_404(object_id)
    c.require(request, c.ENV_WRITE)
    key = request.POST.get("key", "")
    result = c.run(
        request,
        key or "Unset",
        lambda: services.env_vars_update(
            app=app, tenant=request.tenant, actor=c.actor(request),
            changes={key: None}, restart=True,
        ),
    )  # fmt: skip
    if result is None:
        return HttpResponseRedirect(c.url("env", app.pk))
    return _saved(request, app, result)


@never_cache
def env_reveal_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """GET: ask for the password; POST: check it, then the value on this response only (never
    in a message, which would keep it in the session)."""
    app = c.app_or_404(object_id)
    c.require(request, c.REVEAL)
    form = RevealForm(request.POST or None, initial={"key": request.GET.get("key", "")})
    value = None
    status = 200
    if request.method == "POST":
        wait_s = _reveal_wait_s(request.user)
        if wait_s:
            form.is_valid()
            form.add_error(
                None,
                f"Too many wrong passwords: try again in {max(1, round(wait_s / 60))} min.",
            )
            status = 429
        elif form.is_valid() and not request.user.check_password(form.cleaned_data["password"]):
            form.add_error("password", "That is not your password.")
            _reveal_failed(request, app, form.cleaned_data["key"])
        if status != 429 and form.is_valid():
            key = form.cleaned_data["key"]
            value = c.run(
                request,
                key,
                lambda: services.env_var_reveal(
                    app=app, key=key, tenant=request.tenant, actor=c.actor(request)
                ),
            )
            if value is None:
                return HttpResponseRedirect(c.url("env", app.pk))
        elif status != 429:
            status = 400
    key = form.data.get("key") if form.is_bound else form.initial.get("key")
    return c.render(
        request,
        "console/deploy/env_reveal.html",
        app=app,
        title=f"{app.name}: reveal {key}",
        tab="env",
        form=form,
        key=key,
        value=value,
        status=status,
    )
