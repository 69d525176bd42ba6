"""Printing: aligned tables for people, JSON (`--json`) for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import click


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def print_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if not rows:
        click.echo("(none)")
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def parse_pairs(pairs: Sequence[str], *, what: str) -> dict[str, str]:
    """KEY=VALUE arguments into a dict (the value may itself contain '=')."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not {what}=VALUE")
        out[key] = value
    return out
