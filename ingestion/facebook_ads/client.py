"""A Marketing API client over `requests`: the ad account, its campaigns, ad sets and ads, and
ad-level daily insights.

Paging follows `paging.next` to the end. Ranges longer than `async_threshold_days` run as
async report runs (POST, poll, read), and a run that fails or times out is split in two and
retried, down to single days; a shorter range Meta refuses as too large runs async too.
Transient and throttling errors are retried with capped exponential backoff and jitter;
usage headers slow the client down before Meta blocks it.
Token (190) and permission (10, 200-299) errors fail at once. The token is sent as the
`access_token` parameter, and stripped from every URL this module logs or raises.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from ingestion.config import Settings
from ingestion.facebook_ads.date_ranges import DateRange
from ingestion.facebook_ads.graph_errors import (
    AsyncJobFailedError,
    GraphApiError,
    GraphErrorInfo,
    TooMuchDataError,
    error_for,
)
from ingestion.facebook_ads.redaction import protect_logs, scrub, strip_secrets
from ingestion.facebook_ads.throttle import read_usage, slow_down_seconds

log = logging.getLogger(__name__)

DEFAULT_ATTRIBUTION_WINDOWS = ("7d_click", "1d_view")
INSIGHT_FIELDS = (
    "account_id", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name",
    "date_start", "date_stop", "spend", "impressions", "clicks", "reach", "actions",
    "action_values", "account_currency",
)
PLACEMENT_BREAKDOWNS = ("publisher_platform", "platform_position")
ACCOUNT_FIELDS = "name,currency,timezone_name,account_id"
CAMPAIGN_FIELDS = "id,name,status,objective,created_time,updated_time"
ADSET_FIELDS = "id,name,campaign_id,status,created_time,updated_time"
AD_FIELDS = "id,name,adset_id,campaign_id,status,created_time,updated_time,creative{id,url_tags}"
# Edges leave out archived objects unless asked, yet their past spend is in the insights.
_LIVE = ("ACTIVE", "PAUSED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES")
EDGE_STATUSES = {
    "campaigns": _LIVE,
    "adsets": (*_LIVE, "CAMPAIGN_PAUSED"),
    "ads": (*_LIVE, "CAMPAIGN_PAUSED", "ADSET_PAUSED", "PENDING_REVIEW", "DISAPPROVED",
            "PREAPPROVED", "PENDING_BILLING_INFO"),
}
JOB_DONE, JOB_FAILED = "Job Completed", ("Job Failed", "Job Skipped")


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter; throttles start from a longer base, since
    Meta's rolling windows do not reset within seconds."""

    max_retries: int = 6
    base_seconds: float = 2.0
    cap_seconds: float = 60.0
    throttle_base_seconds: float = 60.0
    throttle_cap_seconds: float = 900.0

    def backoff(self, attempt: int, throttled: bool, rng: random.Random) -> float:
        """Wait before retry number `attempt + 1`: half fixed, half random ("equal jitter")."""
        base, cap = ((self.throttle_base_seconds, self.throttle_cap_seconds) if throttled
                     else (self.base_seconds, self.cap_seconds))
        ceiling = min(cap, base * 2**attempt)
        return round(ceiling / 2 + rng.uniform(0, ceiling / 2), 3)


class GraphApiClient:
    """The Graph API endpoints Beacon reads. Waits go through `sleep`, so tests can record them."""

    def __init__(
        self,
        base_url: str,
        api_version: str,
        access_token: str,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        async_threshold_days: int = 31,
        attribution_windows: tuple[str, ...] = DEFAULT_ATTRIBUTION_WINDOWS,
        page_limit: int = 500,
        retry: RetryPolicy | None = None,
        slow_down_at_pct: float = 75.0,
        max_slow_down_seconds: float = 60.0,
        max_throttle_wait_seconds: float = 3600.0,
        async_poll_seconds: float = 5.0,
        async_timeout_seconds: float = 1800.0,
        timeout: float | tuple[float, float] = (10.0, 300.0),
        rng: random.Random | None = None,
    ):
        if not access_token:
            raise GraphApiError("no Meta access token: set META_ACCESS_TOKEN")
        if async_threshold_days < 1:
            raise GraphApiError("async_threshold_days must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self._token = access_token
        self._session = session or requests.Session()
        self._sleep = sleep
        self.async_threshold_days = async_threshold_days
        self.attribution_windows = tuple(attribution_windows)
        self.page_limit = page_limit
        self.retry = retry or RetryPolicy()
        self.slow_down_at_pct = slow_down_at_pct
        self.max_slow_down_seconds = max_slow_down_seconds
        self.max_throttle_wait_seconds = max_throttle_wait_seconds
        self.async_poll_seconds = async_poll_seconds
        self.async_timeout_seconds = async_timeout_seconds
        self.timeout = timeout
        self._rng = rng or random.Random()
        protect_logs(access_token)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> GraphApiClient:
        """A client for `META_GRAPH_URL`, `META_API_VERSION` and `META_ACCESS_TOKEN`."""
        if not settings.meta_access_token:
            raise GraphApiError("META_ACCESS_TOKEN is not set: create a token with the ads_read"
                                " permission (a system user's, for schedules) and set it")
        return cls(settings.meta_graph_url, settings.meta_api_version,
                   settings.meta_access_token, **options)

    def __repr__(self) -> str:  # never the token
        return f"GraphApiClient({self.base_url!r}, {self.api_version!r})"

    def close(self) -> None:
        self._session.close()

    # --- objects ------------------------------------------------------------------------

    def ad_account(self, ad_account_id: str) -> dict[str, Any]:
        """The account node: `id`, `account_id`, `name`, `currency`, `timezone_name`."""
        return self._call("GET", self._url(_act(ad_account_id)), {"fields": ACCOUNT_FIELDS})

    def campaigns(self, ad_account_id: str) -> Iterator[dict[str, Any]]:
        return self._edge(ad_account_id, "campaigns", CAMPAIGN_FIELDS)

    def adsets(self, ad_account_id: str) -> Iterator[dict[str, Any]]:
        return self._edge(ad_account_id, "adsets", ADSET_FIELDS)

    def ads(self, ad_account_id: str) -> Iterator[dict[str, Any]]:
        """Ads with their creative's `url_tags` (`creative: {id, url_tags}`), for UTM matching."""
        return self._edge(ad_account_id, "ads", AD_FIELDS)

    def insights(
        self, ad_account_id: str, since: date, until: date, *, placements: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Ad-level daily rows for `since..until` (inclusive, the account's days), exactly as
        returned; with `placements`, broken down by publisher platform and position."""
        span = DateRange(since, until)
        params = self.insights_params(span, placements=placements)
        if span.days > self.async_threshold_days:
            return self._insights_async(ad_account_id, span, params)
        return self._insights_sync(ad_account_id, span, params)

    def insights_params(self, span: DateRange, *, placements: bool) -> dict[str, str]:
        """The query for one insights request, every choice explicit (Meta's defaults drift)."""
        params = {
            "level": "ad",
            "time_increment": "1",
            "time_range": json.dumps({"since": span.since.isoformat(),
                                      "until": span.until.isoformat()}),
            "fields": ",".join(INSIGHT_FIELDS),
            "action_attribution_windows": json.dumps(list(self.attribution_windows)),
            "limit": str(self.page_limit),
        }
        if placements:
            params["breakdowns"] = ",".join(PLACEMENT_BREAKDOWNS)
        return params

    def _insights_sync(
        self, ad_account_id: str, span: DateRange, params: dict[str, str]
    ) -> Iterator[dict[str, Any]]:
        """Paged GETs; if Meta finds the request too large before any row came back, the
        same range runs as an async report instead (after rows, that would repeat them)."""
        returned = False
        try:
            for row in self._paged(self._url(f"{_act(ad_account_id)}/insights"), params):
                returned = True
                yield row
        except TooMuchDataError as exc:
            if returned:
                raise
            log.warning("%s; running act_%s %s as an async report", exc, ad_account_id, span)
            yield from self._insights_async(ad_account_id, span, params)

    # --- async report runs --------------------------------------------------------------

    def _insights_async(
        self, ad_account_id: str, span: DateRange, params: dict[str, str]
    ) -> Iterator[dict[str, Any]]:
        """Run `span` as one report; if the job fails or times out, split it and run halves."""
        pending = [span]
        while pending:
            part = pending.pop(0)
            part_params = {**params, "time_range": json.dumps(
                {"since": part.since.isoformat(), "until": part.until.isoformat()})}
            try:
                job_id = self._run_report(ad_account_id, part, part_params)
            except AsyncJobFailedError as exc:
                if part.days == 1:
                    raise
                halves = part.halves()
                log.warning("%s; splitting into %s and %s", exc, *halves)
                pending[:0] = halves
                continue
            # Results are read only after the job is done, so a split never repeats rows.
            yield from self._paged(self._url(f"{job_id}/insights"), {"limit": str(self.page_limit)})

    def _run_report(self, ad_account_id: str, span: DateRange, params: dict[str, str]) -> str:
        """Start a report run and wait for it; returns its id once completed."""
        started = self._call("POST", self._url(f"{_act(ad_account_id)}/insights"), params)
        job_id = str(started.get("report_run_id") or "")
        if not job_id:
            raise GraphApiError(f"act_{ad_account_id} insights: no report_run_id in the answer")
        waited = 0.0
        interval = self.async_poll_seconds
        while True:
            job = self._call("GET", self._url(job_id), {})
            status = str(job.get("async_status", ""))
            percent = job.get("async_percent_completion", 0)
            log.info("report run %s for act_%s %s: %s, %s%%", job_id, ad_account_id, span,
                     status, percent)
            if status == JOB_DONE and _as_float(percent) >= 100:
                return job_id
            if status in JOB_FAILED:
                raise AsyncJobFailedError(
                    f"report run {job_id} for act_{ad_account_id} {span} ended as {status!r}")
            if waited >= self.async_timeout_seconds:
                raise AsyncJobFailedError(
                    f"report run {job_id} for act_{ad_account_id} {span} did not finish within"
                    f" {self.async_timeout_seconds:g}s (last status {status!r}, {percent}%)")
            self._sleep(interval)
            waited += interval
            interval = min(interval * 1.5, 60.0)

    # --- transport ----------------------------------------------------------------------

    def _edge(self, ad_account_id: str, edge: str, fields: str) -> Iterator[dict[str, Any]]:
        params = {"fields": fields, "limit": str(self.page_limit),
                  "effective_status": json.dumps(list(EDGE_STATUSES[edge]))}
        return self._paged(self._url(f"{_act(ad_account_id)}/{edge}"), params)

    def _paged(self, url: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every row of a list answer, following `paging.next` (which carries all parameters)."""
        body = self._call("GET", url, params)
        while True:
            data = body.get("data")
            if not isinstance(data, list):
                raise GraphApiError(f"GET {_path(url)}: answer has no `data` list")
            yield from data
            next_url = (body.get("paging") or {}).get("next")
            if not next_url:
                return
            url, params = self._same_origin(strip_secrets(str(next_url))), {}
            body = self._call("GET", url, params)

    def _same_origin(self, url: str) -> str:
        """A `paging.next` link elsewhere than the API must not receive our token."""
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise GraphApiError(f"paging.next points outside {self.base_url}: {url}")
        return url

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{self.api_version}/{path}"

    def _call(self, method: str, url: str, params: Mapping[str, str]) -> dict[str, Any]:
        """One request with retries; returns the JSON object of a successful answer."""
        where = f"{method} {_path(url)}"
        attempt = 0
        while True:
            info, body, headers = self._send(method, url, params)
            if info is None:
                pause = slow_down_seconds(read_usage(headers), threshold_pct=self.slow_down_at_pct,
                                          max_pause=self.max_slow_down_seconds)
                if pause > 0:
                    log.info("Meta rate-limit usage is high; pausing %.1fs", pause)
                    self._sleep(pause)
                return body
            if not info.is_transient:
                raise error_for(info, where)
            if attempt >= self.retry.max_retries:
                raise GraphApiError(
                    f"Graph API request {where} still failing after {attempt} retries:"
                    f" {info.describe()}", info)
            wait = self._wait_after(info, headers, attempt, where)
            log.warning("%s: %s; retry %d in %.1fs", where, info.describe(), attempt + 1, wait)
            self._sleep(wait)
            attempt += 1

    def _wait_after(
        self, info: GraphErrorInfo, headers: Mapping[str, str], attempt: int, where: str
    ) -> float:
        regain = read_usage(headers).regain_seconds if info.is_throttling else 0.0
        if regain > self.max_throttle_wait_seconds:
            raise GraphApiError(
                f"Meta rate-limits {where} for another {regain / 60:.0f} minutes"
                f" ({info.describe()}): run again later", info)
        # Meta's own estimate is waited exactly; otherwise the backoff.
        return regain if regain > 0 else self.retry.backoff(attempt, info.is_throttling, self._rng)

    def _send(
        self, method: str, url: str, params: Mapping[str, str]
    ) -> tuple[GraphErrorInfo | None, dict[str, Any], Mapping[str, str]]:
        """Send once. Returns (error or None, JSON body, headers); never raises requests'
        exceptions, whose text would carry the token-bearing URL."""
        payload = {**params, "access_token": self._token}
        try:
            response = self._session.request(
                method, url, timeout=self.timeout,
                params=payload if method == "GET" else None,
                data=payload if method != "GET" else None,
            )
        except requests.RequestException as exc:
            reason = scrub(f"{type(exc).__name__}: {exc}", (self._token, quote(self._token)))
            return GraphErrorInfo(status=0, message=reason), {}, {}
        try:
            body = response.json()
        except ValueError:
            body = None
        ok = response.status_code < 400
        if ok and isinstance(body, dict) and "error" not in body:
            return None, body, response.headers
        if ok and not (isinstance(body, dict) and "error" in body):
            # A 2xx that is not a JSON object: a proxy's page, treated like a bad gateway.
            return GraphErrorInfo(status=502, message="answer is not a JSON object"), {}, {}
        return GraphErrorInfo.from_body(response.status_code, body), {}, response.headers


def _act(ad_account_id: str) -> str:
    account = str(ad_account_id).removeprefix("act_")
    if not account.isdigit():
        raise GraphApiError(f"ad account id must be digits (optionally after act_): {account!r}")
    return f"act_{account}"


def _path(url: str) -> str:
    """The path of a URL, for messages: short, and free of any query parameter."""
    return urlsplit(url).path or url


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
