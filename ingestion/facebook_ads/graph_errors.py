"""The Graph API's error envelope, and which errors are worth a retry.

Meta answers errors as `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.
The codes below are the ones its "Handling Errors" and rate-limiting pages name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingestion.errors import BeaconError

# Temporary: unknown/service errors, and every kind of rate limit.
TRANSIENT_CODES = frozenset({1, 2})
THROTTLING_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
ACCESS_TOKEN_CODE = 190
PERMISSION_CODES = frozenset({10, *range(200, 300)})


@dataclass(frozen=True)
class GraphErrorInfo:
    """One error as Meta reports it (`status` is the HTTP status)."""

    status: int
    code: int | None = None
    subcode: int | None = None
    type: str | None = None
    message: str = ""
    fbtrace_id: str | None = None

    @classmethod
    def from_body(cls, status: int, body: Any) -> GraphErrorInfo:
        """Read the envelope; a body that is not one (an HTML 502 page) keeps only the status."""
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(status=status, message=f"HTTP {status}")
        return cls(
            status=status,
            code=_int_or_none(error.get("code")),
            subcode=_int_or_none(error.get("error_subcode")),
            type=str(error["type"]) if error.get("type") else None,
            message=str(error.get("error_user_msg") or error.get("message") or f"HTTP {status}"),
            fbtrace_id=str(error["fbtrace_id"]) if error.get("fbtrace_id") else None,
        )

    @property
    def is_throttling(self) -> bool:
        return self.code in THROTTLING_CODES

    @property
    def asks_for_less_data(self) -> bool:
        """Code 1 "Please reduce the amount of data you're asking for": the same request
        would fail again; a smaller one, or an async report run, will not."""
        return self.code == 1 and "reduce the amount of data" in self.message.lower()

    @property
    def is_transient(self) -> bool:
        """Worth retrying: a throttle, a temporary failure, a 5xx without a known fatal code,
        or no answer at all (`status` 0: connection refused, reset or timed out)."""
        if self.is_token_error or self.is_permission_error or self.asks_for_less_data:
            return False
        return (self.is_throttling or self.code in TRANSIENT_CODES or self.status >= 500
                or self.status == 0)

    @property
    def is_token_error(self) -> bool:
        return self.code == ACCESS_TOKEN_CODE

    @property
    def is_permission_error(self) -> bool:
        return self.code in PERMISSION_CODES

    def describe(self) -> str:
        code = "" if self.code is None else f"code {self.code}"
        if self.subcode is not None:
            code += f"/{self.subcode}"
        parts = [p for p in (code, self.type) if p]
        trace = f" (fbtrace_id {self.fbtrace_id})" if self.fbtrace_id else ""
        prefix = f"[{', '.join(parts)}] " if parts else ""
        return f"{prefix}{self.message}{trace}"


class GraphApiError(BeaconError):
    """A Graph API request failed for good. `info` holds Meta's envelope when there was one."""

    def __init__(self, message: str, info: GraphErrorInfo | None = None):
        super().__init__(message)
        self.info = info


class AccessTokenError(GraphApiError):
    """Code 190: the token expired, was revoked or cannot be parsed. Retrying cannot help."""


class PermissionDeniedError(GraphApiError):
    """Codes 10 and 200-299: the token's user or app may not read this object."""


class TooMuchDataError(GraphApiError):
    """Meta refused a synchronous request as too large."""


class AsyncJobFailedError(GraphApiError):
    """An async report run ended as failed or skipped, or did not finish in time."""


def error_for(info: GraphErrorInfo, where: str) -> GraphApiError:
    """The exception to raise for a final (not retried, or retried out) error on `where`."""
    if info.is_token_error:
        return AccessTokenError(
            f"the Meta access token is expired or invalid ({info.describe()}) on {where}: "
            "create a new token and set META_ACCESS_TOKEN",
            info,
        )
    if info.asks_for_less_data:
        return TooMuchDataError(f"Graph API request {where} asks for too much data:"
                                f" {info.describe()}", info)
    if info.is_permission_error:
        return PermissionDeniedError(
            f"the Meta access token may not read {where} ({info.describe()}): "
            "grant it the ads_read permission on this ad account",
            info,
        )
    return GraphApiError(f"Graph API request {where} failed: {info.describe()}", info)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
