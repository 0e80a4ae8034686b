"""A local fake of the Graph API endpoints Beacon reads, for tests and `make demo`.

It speaks Meta's JSON over real HTTP on 127.0.0.1: `GET /{version}/act_{id}` (the account
node), `/act_{id}/campaigns|adsets|ads` (edges), `GET /act_{id}/insights` (level=ad,
time_increment=1, `time_range`, `fields`, optional `breakdowns`), async report runs
(`POST /act_{id}/insights` -> `{"report_run_id"}`, `GET /{run id}` -> `async_status` and
`async_percent_completion`, `GET /{run id}/insights`), cursor paging whose `paging.next` URL
carries the access token as Meta's does, the error envelope
`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`, and the usage
headers `x-business-use-case-usage`, `x-fb-ads-insights-throttle` and `x-app-usage`.

Fixtures: one JSON file per ad account, `<fixtures_dir>/act_<account_id>.json`:

    {"account": {"id": "act_1001", "account_id": "1001", "name": "...", "currency": "USD",
                 "timezone_name": "America/New_York"},
     "campaigns": [{"id", "name", "status", "objective", "created_time", "updated_time"}],
     "adsets": [{"id", "name", "campaign_id", "status", "created_time", "updated_time"}],
     "ads": [{"id", "name", "adset_id", "campaign_id", "status", "created_time",
              "updated_time", "creative": {"id", "url_tags"}}],
     "insights": [rows as the insights API returns them at level=ad, time_increment=1:
                  "account_id", "campaign_id", "campaign_name", "adset_id", "adset_name",
                  "ad_id", "ad_name", "date_start", "date_stop", "spend" (a string, "12.34"),
                  "impressions", "clicks", "reach" (strings), "actions" and "action_values"
                  ([{"action_type", "value" (a string)}]), "account_currency"],
     "insights_placement": [the same rows broken down, plus "publisher_platform" and
                            "platform_position"]}

Knobs for tests (all thread-safe, effective from the next request): `throttle`, `set_usage`,
`fail_request`, `expire_token`, `deny_account`, `restate_on_pull`, `refuse_as_too_large`,
`fail_async_jobs`; what
was asked is in `requests` (without the token) and `jobs`.

Standalone: `python -m ingestion.facebook_ads.fake_graph_api --fixtures DIR --port N
[--token T]` prints its URL and serves until interrupted.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ingestion.errors import BeaconError

DEFAULT_TOKEN = "fake-graph-api-token"
BREAKDOWN_FIELDS = ("publisher_platform", "platform_position")
_PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<node>act_\d+|\d+)(?:/(?P<edge>\w+))?/?$")


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]  # query and form parameters, access_token removed
    status: int = 200


@dataclass
class ReportRun:
    id: str
    account_id: str
    since: str
    until: str
    rows: list[dict[str, Any]]
    polls_to_finish: int
    outcome: str = "complete"  # complete | fail | stall
    polls: int = 0

    @property
    def status(self) -> tuple[str, int]:
        if self.polls >= self.polls_to_finish and self.outcome != "stall":
            return ("Job Failed", 50) if self.outcome == "fail" else ("Job Completed", 100)
        return ("Job Not Started", 0) if self.polls == 0 else ("Job Running", 50)


class _GraphError(Exception):
    def __init__(self, status: int, code: int, message: str, *, subcode: int | None = None,
                 headers: dict[str, str] | None = None, type_: str = "OAuthException"):
        super().__init__(message)
        self.status, self.headers = status, headers or {}
        self.body = {"error": {"message": message, "type": type_, "code": code,
                               "fbtrace_id": "AFakeTrace0001"}}
        if subcode is not None:
            self.body["error"]["error_subcode"] = subcode
        if code in (1, 2) or status >= 500:
            self.body["error"]["is_transient"] = True


@dataclass
class _Knobs:
    throttled_requests: int = 0
    regain_minutes: float = 0
    throttle_code: int = 80000
    usage_pct: float = 3.0
    usage_regain_minutes: float = 0
    fail_at: dict[int, int] = field(default_factory=dict)  # request number -> HTTP status
    token_expires_at: int | None = None  # request number from which the token is expired
    denied: set[str] = field(default_factory=set)
    restate_from_pull: int = 0  # 0: never
    restate_factor: Decimal = Decimal("1")
    restate_drop_ads: frozenset[str] = frozenset()
    async_failures: list[str] = field(default_factory=list)  # outcomes of the next runs
    too_much_data: int = 0


class FakeGraphApi:
    """Serves the fixtures on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(self, fixtures_dir: Path, *, page_size: int = 25,
                 access_token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", port: int = 0,
                 async_polls: int = 2):
        self.accounts = load_fixtures(fixtures_dir)
        self.page_size = page_size
        self.access_token = access_token
        self.async_polls = async_polls
        self.requests: list[RecordedRequest] = []
        self.jobs: dict[str, ReportRun] = {}
        self._pulls: dict[tuple[str, bool], int] = {}
        self._knobs = _Knobs()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeGraphApi:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="fake-graph-api")
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the standalone mode)."""
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    # --- knobs --------------------------------------------------------------------------

    def throttle(self, requests: int, *, regain_minutes: float = 1, code: int = 80000) -> None:
        """The next `requests` insights requests are refused as rate-limited, with usage
        headers at 100% and `estimated_time_to_regain_access` = `regain_minutes`."""
        with self._lock:
            k = self._knobs
            k.throttled_requests, k.regain_minutes, k.throttle_code = requests, regain_minutes, code

    def set_usage(self, pct: float, *, regain_minutes: float = 0) -> None:
        """The usage every answer reports in its headers (default 3%)."""
        with self._lock:
            self._knobs.usage_pct, self._knobs.usage_regain_minutes = pct, regain_minutes

    def fail_request(self, number: int, status: int = 500) -> None:
        """The `number`-th request from now (1 = the next) answers `status` with code 2."""
        with self._lock:
            self._knobs.fail_at[len(self.requests) + number] = status

    def expire_token(self, after_requests: int = 0) -> None:
        """The token expires (code 190, subcode 463) once `after_requests` more succeed."""
        with self._lock:
            self._knobs.token_expires_at = len(self.requests) + after_requests + 1

    def deny_account(self, account_id: str) -> None:
        """Requests on this account answer a permission error (code 200)."""
        with self._lock:
            self._knobs.denied.add(account_id.removeprefix("act_"))

    def restate_on_pull(self, pull: int = 2, *, factor: str | Decimal = "1.10",
                        drop_ad_ids: tuple[str, ...] = ()) -> None:
        """From the `pull`-th insights pull of an account on, spend is multiplied by `factor`
        (rounded to the cent) and the rows of `drop_ad_ids` are gone, as when Meta restates."""
        with self._lock:
            k = self._knobs
            k.restate_from_pull, k.restate_factor = pull, Decimal(str(factor))
            k.restate_drop_ads = frozenset(drop_ad_ids)

    def refuse_as_too_large(self, times: int = 1) -> None:
        """The next `times` synchronous insights GETs answer Meta's code 1 "Please reduce
        the amount of data you're asking for"."""
        with self._lock:
            self._knobs.too_much_data = times

    def fail_async_jobs(self, times: int = 1, *, stall: bool = False) -> None:
        """The next `times` report runs end as "Job Failed" (or, with `stall`, stay
        "Job Running" forever, for the client's timeout)."""
        with self._lock:
            self._knobs.async_failures = ["stall" if stall else "fail"] * times

    # --- what is served -----------------------------------------------------------------

    def served_rows(self, account_id: str, since: str, until: str, *, placements: bool = False,
                    pull: int = 1) -> list[dict[str, Any]]:
        """The insights rows a pull numbered `pull` returns, all fields, in paging order."""
        fixture = self.accounts[account_id.removeprefix("act_")]
        rows = [r for r in fixture["insights_placement" if placements else "insights"]
                if since <= r["date_start"] <= until]
        k = self._knobs
        if k.restate_from_pull and pull >= k.restate_from_pull:
            rows = [_restated(r, k.restate_factor) for r in rows
                    if r.get("ad_id") not in k.restate_drop_ads]
        return sorted(rows, key=lambda r: (r["date_start"], r.get("ad_id", ""),
                                           *(r.get(f, "") for f in BREAKDOWN_FIELDS)))

    # --- request handling (called from the server's threads) ---------------------------

    def handle(self, method: str, path: str, params: dict[str, str]
               ) -> tuple[int, dict[str, Any], dict[str, str]]:
        token = params.pop("access_token", None)
        with self._lock:
            record = RecordedRequest(method, path, dict(params))
            self.requests.append(record)
            try:
                status, body = 200, self._answer(method, path, params, token, len(self.requests))
                headers = self._usage_headers(path, self._knobs.usage_pct,
                                              self._knobs.usage_regain_minutes)
            except _GraphError as exc:
                status, body, headers = exc.status, exc.body, exc.headers
            record.status = status
            return status, body, headers

    def _answer(self, method: str, path: str, params: dict[str, str], token: str | None,
                number: int) -> dict[str, Any]:
        k = self._knobs
        if number in k.fail_at:
            raise _GraphError(k.fail_at.pop(number), 2, "An unexpected error has occurred."
                              " Please retry your request later.")
        if token != self.access_token:
            raise _GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if k.token_expires_at is not None and number >= k.token_expires_at:
            raise _GraphError(400, 190, "Error validating access token: Session has expired on"
                              " Monday, 01-Jan-24 00:00:00 PST.", subcode=463)
        match = _PATH.match(path)
        if not match:
            raise _GraphError(400, 2500, f"Unknown path components: {path}")
        node, edge = match["node"], match["edge"]
        if node in self.jobs:
            return self._report_run(self.jobs[node], edge, params, path)
        account_id = node.removeprefix("act_")
        if account_id in k.denied:
            raise _GraphError(400, 200, "(#200) Ad account owner has NOT grant ads_management"
                              " or ads_read permission", type_="OAuthException")
        if account_id not in self.accounts or not node.startswith("act_"):
            raise _GraphError(400, 100, f"Unsupported get request. Object with ID '{node}' does"
                              " not exist, cannot be loaded due to missing permissions, or does"
                              " not support this operation.", subcode=33)
        if edge == "insights" and k.throttled_requests > 0:
            k.throttled_requests -= 1
            headers = self._usage_headers(path, 100, k.regain_minutes)
            raise _GraphError(400, k.throttle_code, "There have been too many calls from this"
                              " ad-account. Wait a bit and try again.", subcode=2446079,
                              headers=headers)
        if edge == "insights" and method == "GET" and k.too_much_data > 0:
            k.too_much_data -= 1
            raise _GraphError(500, 1, "Please reduce the amount of data you're asking for,"
                              " then retry your request", subcode=99)
        fixture = self.accounts[account_id]
        if edge is None:
            return _select(fixture["account"], params.get("fields"), keep=("id",))
        if edge in ("campaigns", "adsets", "ads"):
            rows = [_select(r, params.get("fields"), keep=("id",)) for r in fixture[edge]]
            return self._page(rows, params, path)
        if edge == "insights":
            return self._insights(account_id, method, params, path)
        raise _GraphError(400, 2500, f"Unknown path components: /{edge}")

    def _insights(self, account_id: str, method: str, params: dict[str, str], path: str
                  ) -> dict[str, Any]:
        if params.get("level") != "ad" or params.get("time_increment") != "1":
            raise _GraphError(400, 100, "(#100) this fake serves level=ad, time_increment=1 only")
        try:
            time_range = json.loads(params["time_range"])
            since, until = time_range["since"], time_range["until"]
        except (KeyError, ValueError, TypeError):
            raise _GraphError(400, 100, "(#100) time_range must be {since, until}") from None
        try:
            windows = json.loads(params.get("action_attribution_windows", "[]"))
        except ValueError:
            windows = None
        if not isinstance(windows, list):
            raise _GraphError(400, 100, "(#100) action_attribution_windows must be a JSON list")
        placements = params.get("breakdowns") == ",".join(BREAKDOWN_FIELDS)
        if params.get("breakdowns") and not placements:
            raise _GraphError(400, 100, f"(#100) unsupported breakdowns {params['breakdowns']}")
        first_page = method == "POST" or "after" not in params
        key = (account_id, placements)
        if first_page:
            self._pulls[key] = self._pulls.get(key, 0) + 1
        rows = self.served_rows(account_id, since, until, placements=placements,
                                pull=self._pulls.get(key, 1))
        fields = params.get("fields", "")
        if placements:
            fields += "," + ",".join(BREAKDOWN_FIELDS)
        rows = [_select(r, fields, keep=("date_start", "date_stop")) for r in rows]
        if method == "POST":
            run = ReportRun(id=str(9_000_000_000_000 + len(self.jobs) + 1), account_id=account_id,
                            since=since, until=until, rows=rows,
                            polls_to_finish=self.async_polls)
            if self._knobs.async_failures:
                run.outcome = self._knobs.async_failures.pop(0)
            self.jobs[run.id] = run
            return {"report_run_id": run.id}
        return self._page(rows, params, path)

    def _report_run(self, run: ReportRun, edge: str | None, params: dict[str, str], path: str
                    ) -> dict[str, Any]:
        if edge is None:
            run.polls += 1
            status, percent = run.status
            return {"id": run.id, "account_id": run.account_id, "async_status": status,
                    "async_percent_completion": percent, "date_start": run.since,
                    "date_stop": run.until}
        if edge != "insights" or run.status[0] != "Job Completed":
            raise _GraphError(400, 100, f"(#100) report run {run.id} has no results to read")
        return self._page(run.rows, params, path)

    def _page(self, rows: list[dict[str, Any]], params: dict[str, str], path: str
              ) -> dict[str, Any]:
        """One page of `rows` by cursor; `limit` is honoured up to the fake's page size."""
        start = _decode_cursor(params.get("after"))
        limit = min(int(params.get("limit") or self.page_size), self.page_size)
        end = min(start + limit, len(rows))
        body: dict[str, Any] = {"data": rows[start:end], "paging": {
            "cursors": {"before": _encode_cursor(start), "after": _encode_cursor(end)}}}
        if end < len(rows):
            query = {k: v for k, v in params.items() if k not in ("after", "before")}
            query.update(access_token=self.access_token, after=_encode_cursor(end))
            body["paging"]["next"] = f"{self.url}{path}?{urlencode(query)}"
        return body

    def _usage_headers(self, path: str, pct: float, regain_minutes: float) -> dict[str, str]:
        match = _PATH.match(path)
        business = match["node"] if match else "0"
        entry = {"type": "ads_insights", "call_count": pct, "total_cputime": pct,
                 "total_time": pct, "estimated_time_to_regain_access": regain_minutes,
                 "ads_api_access_tier": "standard_access"}
        headers = {
            "x-business-use-case-usage": json.dumps({business: [entry]}),
            "x-app-usage": json.dumps({"call_count": min(pct, 100), "total_cputime": 1,
                                       "total_time": 1}),
            "x-fb-trace-id": "AFakeTrace0001",
        }
        if path.endswith("/insights"):
            headers["x-fb-ads-insights-throttle"] = json.dumps(
                {"app_id_util_pct": pct, "acc_id_util_pct": pct,
                 "ads_api_access_tier": "standard_access"})
        return headers


def load_fixtures(fixtures_dir: Path) -> dict[str, dict[str, Any]]:
    """The fixture files by account id (digits)."""
    accounts = {}
    for path in sorted(Path(fixtures_dir).glob("act_*.json")):
        try:
            fixture = json.loads(path.read_text())
            account_id = str(fixture["account"]["account_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BeaconError(f"{path}: not a Graph API fixture ({exc})") from exc
        for key in ("campaigns", "adsets", "ads", "insights", "insights_placement"):
            fixture.setdefault(key, [])
        accounts[account_id] = fixture
    if not accounts:
        raise BeaconError(f"no act_*.json fixtures in {fixtures_dir}")
    return accounts


def _select(row: dict[str, Any], fields: str | None, keep: tuple[str, ...]) -> dict[str, Any]:
    """The requested fields of a row (nested `creative{id,url_tags}` returns `creative`)."""
    if not fields:
        return dict(row)
    wanted = {re.sub(r"\{.*$", "", f).strip() for f in re.split(r",(?![^{]*\})", fields)}
    return {k: v for k, v in row.items() if k in wanted or k in keep}


def _restated(row: dict[str, Any], factor: Decimal) -> dict[str, Any]:
    spend = (Decimal(row.get("spend") or "0") * factor).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return {**row, "spend": str(spend)}


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("offset:"))
    except ValueError:
        raise _GraphError(400, 100, f"(#100) invalid cursor {cursor!r}") from None


def _handler_for(api: FakeGraphApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                params.update(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            status, body, headers = api.handle(method, parts.path, params)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the default logs the request line, token included."""

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, required=True, help="folder of act_*.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the access token to accept")
    parser.add_argument("--page-size", type=int, default=25)
    args = parser.parse_args(argv)
    api = FakeGraphApi(args.fixtures, page_size=args.page_size, access_token=args.token,
                       host=args.host, port=args.port)
    print(f"fake Graph API serving {len(api.accounts)} ad accounts at {api.url}", flush=True)
    api.serve_forever()


if __name__ == "__main__":
    main()
