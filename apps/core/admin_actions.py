"""Admin actions that call a service once per selected object."""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages

from .problems import ApplicationError


def apply_each(
    modeladmin,
    request,
    objects: Iterable[Any],
    *,
    call: Callable[[Any], object],
    label: Callable[[Any], str],
    done: str,
) -> int:
    """Run `call(obj)` for each object. A refusal (ApplicationError) becomes an error message
    naming the object; one success message counts the rest ("3 tenant(s) suspended.")."""
    changed = 0
    for obj in objects:
        try:
            call(obj)
            changed += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{label(obj)}: {exc.detail}", messages.ERROR)
    if changed:
        modeladmin.message_user(request, f"{changed} {done}.", messages.SUCCESS)
    return changed
