"""The small pure rules: error classes, usage headers, redaction, ranges, row validation."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from ingestion.errors import BeaconError
from ingestion.facebook_ads.date_ranges import DateRange, widen_for_restatement
from ingestion.facebook_ads.graph_errors import (
    AccessTokenError,
    GraphErrorInfo,
    PermissionDeniedError,
    error_for,
)
from ingestion.facebook_ads.insight_rows import parse_insight
from ingestion.facebook_ads.redaction import strip_secrets
from ingestion.facebook_ads.throttle import Usage, read_usage, slow_down_seconds


def envelope(code: int, status: int = 400, subcode: int | None = None) -> GraphErrorInfo:
    error = {"message": "m", "type": "OAuthException", "code": code, "fbtrace_id": "T1"}
    if subcode:
        error["error_subcode"] = subcode
    return GraphErrorInfo.from_body(status, {"error": error})


@pytest.mark.parametrize("code", [1, 2, 4, 17, 32, 341, 613, 80000, 80004, 80014])
def test_transient_and_throttling_codes_are_retried(code: int) -> None:
    assert envelope(code).is_transient


@pytest.mark.parametrize(("code", "status", "kind"), [
    (190, 400, AccessTokenError), (190, 500, AccessTokenError), (10, 400, PermissionDeniedError),
    (200, 403, PermissionDeniedError), (294, 400, PermissionDeniedError)])
def test_token_and_permission_errors_are_final(code: int, status: int, kind: type) -> None:
    info = envelope(code, status)
    assert not info.is_transient
    assert type(error_for(info, "GET /v21.0/act_1")) is kind


def test_other_errors() -> None:
    too_large = GraphErrorInfo.from_body(500, {"error": {
        "code": 1, "message": "Please reduce the amount of data you're asking for, then retry"}})
    assert too_large.asks_for_less_data and not too_large.is_transient
    assert not envelope(100).is_transient and not envelope(80015).is_transient
    assert GraphErrorInfo.from_body(502, "<html>bad gateway</html>").is_transient
    assert GraphErrorInfo(status=0, message="ConnectionError").is_transient
    assert envelope(190, subcode=463).describe() == "[code 190/463, OAuthException] m" \
        " (fbtrace_id T1)"


def test_usage_headers() -> None:
    headers = {
        "x-business-use-case-usage": json.dumps({"123": [
            {"type": "ads_insights", "call_count": 12, "total_cputime": 80, "total_time": 40,
             "estimated_time_to_regain_access": 0},
            {"type": "ads_management", "call_count": 5, "estimated_time_to_regain_access": 4}]}),
        "x-fb-ads-insights-throttle": json.dumps({"app_id_util_pct": 20,
                                                  "acc_id_util_pct": 30}),
    }
    assert read_usage(headers) == Usage(80.0, 240.0)
    assert read_usage({"x-ad-account-usage": '{"acc_id_util_pct": 100,'
                                             ' "reset_time_duration": 90}'}) == Usage(100, 90)
    assert read_usage({"x-app-usage": "not json", "x-fb-ads-insights-throttle": "[1]"}) == Usage()
    assert read_usage({"x-app-usage": '{"call_count": "NaN"}'}) == Usage()


def test_slow_down_is_linear_above_the_threshold_and_exact_when_told() -> None:
    def pause(usage: Usage) -> float:
        return slow_down_seconds(usage, threshold_pct=75, max_pause=60)

    assert [pause(Usage(p)) for p in (0, 74.9, 75, 87.5, 100, 140)] == \
        [0, 0, 0, 30, 60, 60]
    assert pause(Usage(10, regain_seconds=300)) == 300


def test_secrets_are_stripped_from_urls() -> None:
    url = ("https://graph.facebook.com/v21.0/act_1/insights?access_token=SECRET&limit=25"
           "&appsecret_proof=P&after=QVFI&fields=ad_id%2Cspend")
    assert strip_secrets(url) == ("https://graph.facebook.com/v21.0/act_1/insights?limit=25"
                                  "&after=QVFI&fields=ad_id%2Cspend")
    assert strip_secrets("https://graph.facebook.com/v21.0/act_1") == \
        "https://graph.facebook.com/v21.0/act_1"


def test_date_ranges() -> None:
    span = DateRange(date(2024, 1, 1), date(2024, 3, 30))
    assert span.days == 90
    assert [str(h) for h in span.halves()] == ["2024-01-01..2024-02-14", "2024-02-15..2024-03-30"]
    assert [h.days for h in DateRange(date(2024, 1, 1), date(2024, 1, 2)).halves()] == [1, 1]
    with pytest.raises(BeaconError, match="starts after it ends"):
        DateRange(date(2024, 1, 2), date(2024, 1, 1))
    day = date(2024, 2, 10)
    assert widen_for_restatement(day, day, 28) == DateRange(date(2024, 1, 14), day)
    assert widen_for_restatement(date(2023, 12, 1), day, 28).since == date(2023, 12, 1)
    assert widen_for_restatement(day, day, 1) == DateRange(day, day)


ROW = {"account_id": "1001", "ad_id": "5", "date_start": "2024-01-01",
       "date_stop": "2024-01-01", "spend": "1234567.89", "impressions": "10", "clicks": "1",
       "actions": [{"action_type": "purchase", "value": "2"}], "account_currency": "USD"}


def test_numbers_are_exact() -> None:
    row = parse_insight(ROW, ad_account_id="1001", where="r")
    assert (row.spend, row.impressions, row.clicks, row.reach) == \
        (Decimal("1234567.89"), 10, 1, None)
    assert parse_insight({**ROW, "spend": "3"}, ad_account_id="1001", where="r").spend == \
        Decimal("3.00")
    omitted = parse_insight({"ad_id": "5", "date_start": "2024-01-01"}, ad_account_id="1001",
                            where="r")  # Meta leaves zero metrics out
    assert (omitted.spend, omitted.impressions, omitted.clicks, omitted.actions) == \
        (Decimal("0.00"), 0, 0, None)


@pytest.mark.parametrize(("change", "message"), [
    ({"spend": 1.5}, "spend 1.5 is a float"),
    ({"spend": "NaN"}, "spend 'NaN' is out of range"),
    ({"spend": "1e17"}, "spend '1e17' is out of range"),
    ({"clicks": "-1"}, "clicks '-1' is not a non-negative whole number"),
    ({"date_stop": "2024-01-02"}, "date_start 2024-01-01 and date_stop 2024-01-02 differ"),
    ({"account_id": "9"}, "row belongs to ad account 9, not 1001"),
    ({"ad_id": " "}, "missing ad_id"),
    ({"actions": [{"value": "1"}]}, "actions must be a list of objects with an action_type"),
    ({"action_values": [{"action_type": "purchase", "value": "x"}]},
     r"action_values\[purchase\].value 'x' is not a number"),
])
def test_malformed_rows_are_named(change: dict, message: str) -> None:
    with pytest.raises(BeaconError, match=rf"^act_1001 row 7: {message}"):
        parse_insight({**ROW, **change}, ad_account_id="1001", where="act_1001 row 7")


def test_placement_rows_need_both_breakdowns() -> None:
    with pytest.raises(BeaconError, match="without publisher_platform and platform_position"):
        parse_insight({**ROW, "publisher_platform": "facebook"}, ad_account_id="1001",
                      where="r", placement=True)
