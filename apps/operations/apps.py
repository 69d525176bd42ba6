from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """The top layer (ARCHITECTURE.md §3a): what spans the domain apps, through their services
    and selectors; nothing imports it. Here: a tenant's configuration as one document
    (portability/)."""

    name = "apps.operations"
    label = "operations"
    verbose_name = "Operations"
