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
    # The URL's Basic credentials as stored (a Fernet token; checks/http.py decrypts it).
    url_credentials_encrypted: str = field(default="", repr=False)

    @classmethod
    def from_values(cls, values: dict, *, max_body_bytes: int = 1024 * 1024) -> CheckSpec:
        """From a monitor's MONITOR_FIELDS as a dict (the scheduler reads them with
        `.values()`: building thousands of Monitor instances per second costs real CPU)."""
        return cls(
            **{
                **values,
                "timeout_s": float(values["timeout_s"]),
                "expected_status": tuple(values["expected_status"] or ()),
                "max_body_bytes": max_body_bytes,
            }
        )

    @classmethod
    def from_monitor(cls, monitor, *, max_body_bytes: int = 1024 * 1024) -> CheckSpec:
        values = {name: getattr(monitor, name) for name in MONITOR_FIELDS}
        return cls.from_values(values, max_body_bytes=max_body_bytes)


# The Monitor fields a CheckSpec copies (same names).
MONITOR_FIELDS = (
    "kind", "timeout_s", "url", "method", "expected_status", "keyword", "keyword_mode",
    "json_path", "json_operator", "json_value", "max_response_ms", "verify_tls",
    "follow_redirects", "host", "port", "tls_expiry_days", "url_credentials_encrypted",
)  # fmt: skip


@dataclass
class Outcome:
    ok: bool
    response_ms: int | None = None
    status_code: int | None = None
    error: str = ""
    extra: dict = field(default_factory=dict)
