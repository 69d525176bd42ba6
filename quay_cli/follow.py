"""Following a deployment: its steps as a progress bar, its log lines as they come.

Log lines arrive as server-sent events from the deployment's `logs_url` (`event: log`, then
`event: end`; a `reconnect` event means "call again with Last-Event-ID"). They are read on a
thread into a queue while the main thread polls the deployment once a second for its state,
redrawing the bar. On a terminal the bar stays on the last line; otherwise each new step is
printed on a line of its own."""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import click
import httpx

from .api import Api, QuayError

STEPS = ("queued", "fetching", "building", "releasing", "starting", "verifying", "switching")
FINAL = ("live", "failed", "canceled")
BAR_WIDTH = 24


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Parse a text/event-stream into {"event", "id", "data"} dicts (comments skipped)."""
    event: dict[str, str] = {}
    data: list[str] = []
    for line in lines:
        if line == "":
            if data or event:
                event["data"] = "\n".join(data)
                event.setdefault("event", "message")
                yield event
            event, data = {}, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field in ("event", "id", "retry"):
            event[field] = value


def stream_logs(api: Api, logs_url: str, put: Callable[[tuple[str, Any]], None]) -> None:
    """Read the log stream to its end (reconnecting as told); put ("log", line) and ("end",
    state) or ("error", message) into the queue."""
    last_id = ""
    while True:
        headers = {"Accept": "text/event-stream"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        try:
            with api.http.stream(
                "GET",
                logs_url,
                params={"follow": "true"},
                headers=api.headers(headers),
                timeout=httpx.Timeout(30, read=None),
            ) as response:
                if response.status_code != 200:
                    response.read()
                    put(("error", f"log stream: HTTP {response.status_code}"))
                    return
                reconnect = False
                for event in sse_events(response.iter_lines()):
                    last_id = event.get("id", last_id)
                    payload = json.loads(event["data"]) if event.get("data") else {}
                    if event["event"] == "log":
                        put(("log", payload))
                    elif event["event"] == "end":
                        put(("end", payload.get("state", "")))
                        return
                    elif event["event"] == "reconnect":
                        last_id = str(payload.get("after", last_id))
                        reconnect = True
                if not reconnect:
                    put(("end", ""))
                    return
        except (httpx.HTTPError, QuayError) as exc:
            put(("error", f"log stream: {exc}"))
            return


class Progress:
    """The step bar. On a terminal it is redrawn in place under the log lines."""

    def __init__(self, *, tty: bool) -> None:
        self.tty = tty
        self.shown = ""

    def bar(self, state: str, failed_at: str = "") -> str:
        if state == "live":
            done = len(STEPS)
        elif state in FINAL:  # failed or canceled: the bar stops at the step it ended in
            done = STEPS.index(failed_at) if failed_at in STEPS else 0
        else:
            done = STEPS.index(state) if state in STEPS else 0
        filled = round(BAR_WIDTH * done / len(STEPS))
        return (
            f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {min(done + 1, len(STEPS))}/"
            f"{len(STEPS)} {state}"
        )

    def clear(self) -> None:
        if self.tty and self.shown:
            sys.stdout.write("\r\033[K")

    def draw(self, state: str, failed_at: str = "") -> None:
        bar = self.bar(state, failed_at)
        if self.tty:
            sys.stdout.write(f"\r\033[K{bar}")
            sys.stdout.flush()
        elif state != self.shown:
            click.echo(bar)
        self.shown = state

    def line(self, text: str) -> None:
        self.clear()
        click.echo(text)
        if self.tty and self.shown:
            self.draw(self.shown)


def follow_deployment(api: Api, deployment: dict, *, poll_s: float = 1.0) -> dict:
    """Show the deployment until it is over; returns its last state as the API renders it."""
    base = f"/api/v1/apps/{deployment['app_id']}/deployments/{deployment['id']}"
    events: queue.Queue = queue.Queue()
    reader = threading.Thread(
        target=stream_logs,
        args=(api, deployment.get("logs_url") or f"{base}/logs", events.put),
        daemon=True,
    )
    reader.start()
    progress = Progress(tty=sys.stdout.isatty())
    progress.draw(deployment["state"])
    stream_over = False
    next_poll = time.monotonic() + poll_s
    while True:
        try:
            kind, value = events.get(timeout=max(0.05, next_poll - time.monotonic()))
        except queue.Empty:
            kind, value = "", None
        if kind == "log":
            stream = value.get("stream", "")
            progress.line(f"{stream:>7} | {value.get('line', '')}")
            continue
        if kind == "error":
            progress.line(value)
            stream_over = True
        elif kind == "end":
            stream_over = True
        if time.monotonic() >= next_poll or stream_over:
            deployment = api.get(base)
            progress.draw(deployment["state"], deployment.get("failure_step", ""))
            next_poll = time.monotonic() + poll_s
            if deployment["state"] in FINAL and (stream_over or not reader.is_alive()):
                break
    reader.join(timeout=5)
    # Lines that arrived between the stream's end and the last poll.
    while not events.empty():
        kind, value = events.get_nowait()
        if kind == "log":
            progress.line(f"{value.get('stream', ''):>7} | {value.get('line', '')}")
    progress.clear()
    if progress.tty:
        click.echo(progress.bar(deployment["state"], deployment.get("failure_step", "")))
    return deployment
