import logging

from .request_context import get_request_id


class RequestIDFilter(logging.Filter):
    """Puts the current request (or task) id on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_request_id()
        return True
