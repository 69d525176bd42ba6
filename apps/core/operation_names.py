"""Which operation names exist, for apps below the operations registry (ARCHITECTURE.md §3a).

The registry (apps/operations) is the top layer: nothing imports it. An API key's allow-list
(apps.accounts) must still name real operations, so the registry hands core a function that
answers the known names when it loads, and accounts asks core."""

from __future__ import annotations

from collections.abc import Callable, Iterable

_provider: Callable[[], Iterable[str]] | None = None


def set_provider(provider: Callable[[], Iterable[str]]) -> None:
    global _provider
    _provider = provider


def unknown(names: Iterable[str]) -> list[str]:
    """The names in `names` that name no operation (all of them when no registry is loaded)."""
    known = set(_provider()) if _provider is not None else set()
    return sorted({name for name in names if name not in known})
