"""Base classes every API view derives from, so cross-cutting behaviour lives in one place."""

from __future__ import annotations

import functools

from django.conf import settings
from django.utils.module_loading import import_string
from rest_framework import generics, mixins, views, viewsets
from rest_framework.response import Response

from apps.core import idempotency

from .principals import principal_of

_REPLAYED_HEADERS = ("Location",)
_CONTENT_TYPE = "X-Stored-Content-Type"


def _replay_response(stored: idempotency.StoredResponse) -> Response:
    headers = dict(stored.headers)
    content_type = headers.pop(_CONTENT_TYPE, None)
    response = Response(
        stored.data, status=stored.status, headers=headers, content_type=content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


def not_idempotent(func):
    """Mark a view action as outside `Idempotency-Key` handling: the key is ignored, every call
    runs, and nothing of its answer is kept in Redis. For actions that change nothing but must
    run (and be audited) every time, like revealing a secret."""
    func.idempotent = False
    return func


class IdempotentMixin:
    """Honours `Idempotency-Key` on POST (see apps/core/idempotency.py).

    Opt-out: `idempotent = False` on the view class, or on one action (`@not_idempotent`)."""

    idempotent = True
    _idempotency_claim: idempotency.Claim | None = None

    def _is_idempotent(self, request) -> bool:
        name = getattr(self, "action", None) or request.method.lower()
        handler = getattr(self, name, None)
        if handler is not None and getattr(handler, "idempotent", True) is False:
            return False
        return self.idempotent

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._idempotency_claim = None
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key is not None and self._is_idempotent(request):
            self._idempotency_claim = idempotency.claim(
                principal=principal_of(request),
                key=key,
                method=request.method,
                path=request.get_full_path(),
                body=request._request.body,
            )

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return _replay_response(exc.stored)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        claim = self._idempotency_claim
        if claim is not None:
            self._idempotency_claim = None
            headers = {h: response[h] for h in _REPLAYED_HEADERS if response.has_header(h)}
            if getattr(response, "content_type", None):
                headers[_CONTENT_TYPE] = response.content_type
            idempotency.complete(
                claim, status=response.status_code, data=response.data, headers=headers
            )
        return response


class TenantAccessMixin:
    """Puts settings.TENANT_ACCESS_PERMISSIONS in front of every view's own permissions, so that
    no view can forget the tenant membership and role checks (views declaring AllowAny too)."""

    def get_permissions(self):
        return [*(cls() for cls in _tenant_access_permissions()), *super().get_permissions()]


@functools.cache
def _tenant_access_permissions() -> tuple[type, ...]:
    return tuple(import_string(path) for path in settings.TENANT_ACCESS_PERMISSIONS)


class BaseMixin(TenantAccessMixin, IdempotentMixin):
    pass


class APIView(BaseMixin, views.APIView):
    pass


class GenericAPIView(BaseMixin, generics.GenericAPIView):
    pass


class ViewSet(BaseMixin, viewsets.ViewSet):
    pass


class GenericViewSet(BaseMixin, viewsets.GenericViewSet):
    pass


class ModelViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    GenericViewSet,
):
    pass
