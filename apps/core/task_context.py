"""Carries the request id from the request that enqueued a task into the task's log lines."""

from celery.signals import before_task_publish, task_postrun, task_prerun

from .request_context import RequestContext, activate, deactivate, get_request_id, new_request_id

HEADER = "quayside_request_id"
_tokens: dict[str, object] = {}


def _publish(headers=None, **kwargs) -> None:
    if headers is not None and get_request_id() != "-":
        headers.setdefault(HEADER, get_request_id())


def _prerun(task_id=None, task=None, **kwargs) -> None:
    request_id = getattr(task.request, HEADER, None) or (task.request.headers or {}).get(HEADER)
    _tokens[task_id] = activate(RequestContext(request_id=new_request_id(request_id)))


def _postrun(task_id=None, **kwargs) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        deactivate(token)


def connect() -> None:
    before_task_publish.connect(_publish, dispatch_uid="qs-request-id-publish", weak=False)
    task_prerun.connect(_prerun, dispatch_uid="qs-request-id-prerun", weak=False)
    task_postrun.connect(_postrun, dispatch_uid="qs-request-id-postrun", weak=False)
