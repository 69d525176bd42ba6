from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "apps.operations"
    label = "operations"
    verbose_name = "Operations registry"

    def ready(self) -> None:
        from apps.core import operation_names

        from . import catalogue, registry

        catalogue.register_builtin()
        operation_names.set_provider(registry.names)
