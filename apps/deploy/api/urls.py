"""/api/v1/ routes of the deploy app."""

from django.urls import include, path, re_path

from config.routers import Router

from .admin_drift import RuntimeDriftViewSet
from .views import AppViewSet, DeploymentViewSet, DomainViewSet, EnvVarViewSet, ReleaseViewSet

APP = r"apps/(?P<app_pk>[^/.]+)"

router = Router()
router.register("apps", AppViewSet, basename="app")
router.register(f"{APP}/deployments", DeploymentViewSet, basename="app-deployment")
router.register(f"{APP}/releases", ReleaseViewSet, basename="app-release")
router.register(f"{APP}/domains", DomainViewSet, basename="app-domain")
router.register("admin/runtime/drift", RuntimeDriftViewSet, basename="admin-runtime-drift")

env_vars = EnvVarViewSet.as_view({"get": "list", "patch": "bulk_update"})
env_var_reveal = EnvVarViewSet.as_view({"post": "reveal"})

urlpatterns = [
    re_path(rf"^{APP}/env-vars/?$", env_vars, name="app-env-vars"),
    re_path(
        rf"^{APP}/env-vars/(?P<key>[^/]+)/reveal/?$", env_var_reveal, name="app-env-var-reveal"
    ),
    path("", include(router.urls)),
]
