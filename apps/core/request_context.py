"""What is known about the request (or task) being served, for logs, errors and the audit log."""

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class RequestContext:
    request_id: str = "-"
    ip_address: str | None = None
    user_agent: str = ""


_EMPTY = RequestContext()
_current: ContextVar[RequestContext] = ContextVar("request_context", default=_EMPTY)


def new_request_id(candidate: str | None = None) -> str:
    """Keep a caller-supplied id when it is sane, else make one."""
    if candidate and _VALID_ID.match(candidate):
        return candidate
    return uuid.uuid4().hex


def current() -> RequestContext:
    return _current.get()


def get_request_id() -> str:
    return _current.get().request_id


def activate(context: RequestContext):
    return _current.set(context)


def deactivate(token) -> None:
    _current.reset(token)
