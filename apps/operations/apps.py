from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """The top layer (ARCHITECTURE.md §3a): what spans the domain apps, through their services
    and selectors; nothing imports it. Here: the operations registry and its doors (REST
    /api/v1/operations, MCP /mcp; docs/agents.md), and a tenant's configuration as one document
    (portability/)."""

    name = "apps.operations"
    label = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from apps.core import operation_names

        from . import catalogue, registry

        catalogue.register_builtin()
        operation_names.set_provider(registry.names)
