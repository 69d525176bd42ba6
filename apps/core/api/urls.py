"""/api/v1/ routes of core (operators): platform config variables, nodes, integrations health."""

from django.urls import include, path

from config.routers import Router

from .config_variables import ConfigVariableViewSet
from .operations import IntegrationViewSet, NodeViewSet

router = Router()
router.register("admin/config-variables", ConfigVariableViewSet, basename="admin-config-variable")
router.register("admin/nodes", NodeViewSet, basename="admin-node")
router.register("admin/integrations", IntegrationViewSet, basename="admin-integration")

urlpatterns = [path("", include(router.urls))]
