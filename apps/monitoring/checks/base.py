from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckSpec:
    """What a check needs, copied from a Monitor so the async part never touches the ORM."""

    kind: str
    timeout_s: float
    url: str = ""
    method: str = "GET"
    expected_status: tuple[str, ...] = ()
    keyword: str = ""
    keyword_mode: str = "present"
    json_path: str = ""
    json_operator: str = "eq"
    json_value: str = ""
    max_response_ms: int | None = None
    verify_tls: bool = True
    follow_redirects: bool = True
    host: str = ""
    port: int | None = None
    tls_expiry_days: int = 14
    max_body_bytes: int = 1024 * 1024

    @classmethod
    def from_monitor(cls, monitor, *, max_body_bytes: int = 1024 * 1024) -> CheckSpec:
        return cls(
            kind=monitor.kind,
            timeout_s=float(monitor.timeout_s),
            url=monitor.url,
            method=monitor.method,
            expected_status=tuple(monitor.expected_status or ()),
            keyword=monitor.keyword,
            keyword_mode=monitor.keyword_mode,
            json_path=monitor.json_path,
            json_operator=monitor.json_operator,
            json_value=monitor.json_value,
            max_response_ms=monitor.max_response_ms,
            verify_tls=monitor.verify_tls,
            follow_redirects=monitor.follow_redirects,
            host=monitor.host,
            port=monitor.port,
            tls_expiry_days=monitor.tls_expiry_days,
            max_body_bytes=max_body_bytes,
        )


@dataclass
class Outcome:
    ok: bool
    response_ms: int | None = None
    status_code: int | None = None
    error: str = ""
    extra: dict = field(default_factory=dict)
