from django.db import models

from apps.core.models import TimeStampedModel


class App(TimeStampedModel):
    """An application a tenant runs. Lives in the tenant's schema (the deploy issue extends it)."""

    name = models.SlugField(max_length=63, unique=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name
