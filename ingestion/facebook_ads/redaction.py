"""Keeping the access token out of URLs, messages and logs.

Graph API `paging.next` links embed `access_token`, and `requests`/`urllib3` put the request
URL into exceptions and DEBUG logs; everything that leaves the client passes through here.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_PARAMS = frozenset({"access_token", "appsecret_proof", "client_secret"})
MASK = "***"


def strip_secrets(url: str) -> str:
    """The URL without its secret query parameters (the client sends the token itself)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in SECRET_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(query)))


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every literal occurrence of the secrets masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


class _ScrubFilter(logging.Filter):
    """Masks known secrets in records of a third-party logger (urllib3 logs full URLs)."""

    def __init__(self) -> None:
        super().__init__("beacon-secrets")
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = scrub(record.getMessage(), tuple(self.secrets))
            record.msg, record.args = message, None
        return True


_FILTER = _ScrubFilter()


def protect_logs(secret: str) -> None:
    """Mask `secret` in urllib3's request logs from now on (idempotent)."""
    if not secret:
        return
    _FILTER.secrets.add(secret)
    for name in ("urllib3.connectionpool", "requests"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
