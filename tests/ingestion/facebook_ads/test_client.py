"""The Graph API client against the fake server, over real HTTP."""

from __future__ import annotations

import json
import logging
import random
from dataclasses import replace
from datetime import date

import pytest

from ingestion.config import Settings
from ingestion.facebook_ads.client import (
    INSIGHT_FIELDS,
    GraphApiClient,
    RetryPolicy,
)
from ingestion.facebook_ads.fake_graph_api import FakeGraphApi
from ingestion.facebook_ads.graph_errors import (
    AccessTokenError,
    AsyncJobFailedError,
    GraphApiError,
    PermissionDeniedError,
)
from tests.conftest import free_port
from tests.ingestion.facebook_ads.conftest import TOKEN

JAN_1, JAN_28 = date(2024, 1, 1), date(2024, 1, 28)


def insight_requests(fake: FakeGraphApi, method: str = "GET") -> list:
    return [r for r in fake.requests if r.method == method and r.path.endswith("/insights")]


def test_multi_page_results_are_all_returned(client: GraphApiClient, fake_api: FakeGraphApi,
                                             sleeps: list[float]) -> None:
    rows = list(client.insights("1001", JAN_1, JAN_28))
    expected = fake_api.served_rows("1001", "2024-01-01", "2024-01-28")
    assert len(expected) == 96
    assert [(r["ad_id"], r["date_start"], r["spend"]) for r in rows] == [
        (r["ad_id"], r["date_start"], r["spend"]) for r in expected]
    pages = insight_requests(fake_api)
    assert len(pages) == 10  # 96 rows, 10 a page
    first = pages[0].params
    assert first["level"] == "ad" and first["time_increment"] == "1"
    assert json.loads(first["time_range"]) == {"since": "2024-01-01", "until": "2024-01-28"}
    assert first["fields"].split(",") == list(INSIGHT_FIELDS)
    assert json.loads(first["action_attribution_windows"]) == ["7d_click", "1d_view"]
    assert "breakdowns" not in first
    assert [bool(p.params.get("after")) for p in pages] == [False] + [True] * 9
    assert sleeps == []


def test_placement_breakdown_rows(client: GraphApiClient, fake_api: FakeGraphApi) -> None:
    rows = list(client.insights("2002", JAN_1, date(2024, 1, 3), placements=True))
    assert insight_requests(fake_api)[0].params["breakdowns"] == \
        "publisher_platform,platform_position"
    assert len(rows) == 3 * 8  # 3 ads a day, one day in seven skipped, 3 placements
    assert {(r["publisher_platform"], r["platform_position"]) for r in rows} == {
        ("facebook", "feed"), ("instagram", "stream"), ("audience_network", "classic")}


def test_dimensions_with_url_tags(client: GraphApiClient, fake_api: FakeGraphApi) -> None:
    account = client.ad_account("act_2002")
    assert (account["currency"], account["timezone_name"]) == ("EUR", "Europe/Berlin")
    assert [c["id"] for c in client.campaigns("2002")] == ["2002100"]
    assert [a["campaign_id"] for a in client.adsets("2002")] == ["2002100"]
    ads = list(client.ads("2002"))
    assert [a["creative"]["url_tags"] for a in ads] == [
        f"utm_source=facebook&utm_ad_id={a['id']}" for a in ads]
    edge = next(r for r in fake_api.requests if r.path.endswith("/ads"))
    assert "creative{id,url_tags}" in edge.params["fields"]
    assert "ARCHIVED" in json.loads(edge.params["effective_status"])


def test_throttled_then_recovered_waits_as_told(client: GraphApiClient, fake_api: FakeGraphApi,
                                                sleeps: list[float]) -> None:
    fake_api.throttle(2, regain_minutes=3)
    rows = list(client.insights("1001", JAN_1, JAN_28))
    assert len(rows) == 96
    assert sleeps == [180.0, 180.0]  # estimated_time_to_regain_access, to the second
    assert [r.status for r in insight_requests(fake_api)][:3] == [400, 400, 200]


def test_throttling_without_an_estimate_backs_off(fake_api: FakeGraphApi,
                                                  client: GraphApiClient,
                                                  sleeps: list[float]) -> None:
    fake_api.throttle(2, regain_minutes=0, code=17)
    assert len(list(client.insights("1001", JAN_1, JAN_1))) == 3
    # throttle base 60 s, doubled, half of it jittered
    assert 30 <= sleeps[0] <= 60 and 60 <= sleeps[1] <= 120


def test_slows_down_before_the_limit(client: GraphApiClient, fake_api: FakeGraphApi,
                                     sleeps: list[float]) -> None:
    fake_api.set_usage(90)
    list(client.insights("1001", JAN_1, JAN_1))
    # 90% is 15/25 of the way from the 75% threshold to the limit: 0.6 x 60 s
    assert sleeps == [36.0]
    fake_api.set_usage(50)
    list(client.insights("1001", JAN_1, JAN_1))
    assert sleeps == [36.0]


def test_a_server_error_mid_paging_is_retried(client: GraphApiClient, fake_api: FakeGraphApi,
                                              sleeps: list[float]) -> None:
    fake_api.fail_request(4)  # the 4th page
    rows = list(client.insights("1001", JAN_1, JAN_28))
    keys = [(r["ad_id"], r["date_start"]) for r in rows]
    assert len(keys) == len(set(keys)) == 96
    statuses = [r.status for r in insight_requests(fake_api)]
    assert statuses.count(500) == 1 and len(statuses) == 11
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 2.0


def test_gives_up_after_the_retries(fake_api: FakeGraphApi, sleeps: list[float]) -> None:
    client = GraphApiClient(fake_api.url, "v21.0", TOKEN, sleep=sleeps.append,
                            retry=RetryPolicy(max_retries=2, base_seconds=1, cap_seconds=3))
    for n in (1, 2, 3):
        fake_api.fail_request(n, status=503)
    with pytest.raises(GraphApiError, match=r"still failing after 2 retries: \[code 2"):
        client.ad_account("1001")
    assert len(fake_api.requests) == 3
    assert 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2


def test_expired_token_fails_fast_with_a_clear_message(client: GraphApiClient,
                                                       fake_api: FakeGraphApi,
                                                       sleeps: list[float]) -> None:
    fake_api.expire_token()
    with pytest.raises(AccessTokenError) as caught:
        list(client.insights("1001", JAN_1, JAN_28))
    message = str(caught.value)
    assert "access token is expired or invalid" in message
    assert "code 190/463" in message and "META_ACCESS_TOKEN" in message
    assert TOKEN not in message
    assert len(fake_api.requests) == 1 and sleeps == []


def test_wrong_token_and_permission_errors_fail_fast(fake_api: FakeGraphApi,
                                                     client: GraphApiClient,
                                                     sleeps: list[float]) -> None:
    wrong = GraphApiClient(fake_api.url, "v21.0", "not-the-token", sleep=sleeps.append)
    with pytest.raises(AccessTokenError, match="code 190"):
        wrong.ad_account("1001")
    fake_api.deny_account("2002")
    with pytest.raises(PermissionDeniedError, match=r"may not read GET /v21.0/act_2002 .*code 200"):
        client.ad_account("2002")
    assert len(fake_api.requests) == 2 and sleeps == []


def test_long_ranges_run_as_async_report_runs(client: GraphApiClient, fake_api: FakeGraphApi,
                                              sleeps: list[float]) -> None:
    until = date(2024, 3, 30)  # 90 days
    rows = list(client.insights("1001", JAN_1, until))
    expected = fake_api.served_rows("1001", "2024-01-01", "2024-03-30")
    assert [(r["ad_id"], r["date_start"]) for r in rows] == [
        (r["ad_id"], r["date_start"]) for r in expected]
    assert len(rows) == 309
    assert len(insight_requests(fake_api, "POST")) == 1
    (job,) = fake_api.jobs.values()
    assert (job.since, job.until, job.polls) == ("2024-01-01", "2024-03-30", 2)
    assert sleeps == [5.0]  # one wait between the two polls


def test_a_failed_async_job_is_split_in_halves(client: GraphApiClient,
                                               fake_api: FakeGraphApi) -> None:
    fake_api.fail_async_jobs(2)
    rows = list(client.insights("1001", JAN_1, date(2024, 3, 30)))
    assert len(rows) == 309 == len({(r["ad_id"], r["date_start"]) for r in rows})
    ranges = [(j.since, j.until, j.outcome) for j in fake_api.jobs.values()]
    assert ranges == [
        ("2024-01-01", "2024-03-30", "fail"),
        ("2024-01-01", "2024-02-14", "fail"),
        ("2024-01-01", "2024-01-22", "complete"),
        ("2024-01-23", "2024-02-14", "complete"),
        ("2024-02-15", "2024-03-30", "complete"),
    ]


def test_a_timed_out_async_job_is_split(fake_api: FakeGraphApi, sleeps: list[float]) -> None:
    client = GraphApiClient(fake_api.url, "v21.0", TOKEN, sleep=sleeps.append,
                            async_threshold_days=10, async_poll_seconds=4,
                            async_timeout_seconds=10)
    fake_api.fail_async_jobs(1, stall=True)
    rows = list(client.insights("1001", JAN_1, date(2024, 1, 20)))
    assert len(rows) == len(fake_api.served_rows("1001", "2024-01-01", "2024-01-20")) == 69
    assert [(j.since, j.until, j.outcome) for j in fake_api.jobs.values()] == [
        ("2024-01-01", "2024-01-20", "stall"),
        ("2024-01-01", "2024-01-10", "complete"),
        ("2024-01-11", "2024-01-20", "complete"),
    ]
    # polls back off (4 s, then 6 s) until the 10 s timeout; each half then takes one wait
    assert sleeps == [4.0, 6.0, 4.0, 4.0]


def test_a_single_day_that_keeps_failing_is_an_error(fake_api: FakeGraphApi,
                                                     sleeps: list[float]) -> None:
    client = GraphApiClient(fake_api.url, "v21.0", TOKEN, sleep=sleeps.append,
                            async_threshold_days=1)
    fake_api.fail_async_jobs(3)
    with pytest.raises(AsyncJobFailedError, match=r"act_1001 2024-01-01..2024-01-01 ended as"):
        list(client.insights("1001", JAN_1, date(2024, 1, 2)))


def test_the_token_never_reaches_logs_errors_or_urls(fake_api: FakeGraphApi,
                                                     client: GraphApiClient,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake_api.fail_request(2)
    list(client.insights("1001", JAN_1, JAN_28))  # paging.next links carry the token
    assert any("after=" in r.getMessage() for r in caplog.records)  # urllib3 logged the URLs
    nowhere = GraphApiClient(f"http://127.0.0.1:{free_port()}", "v21.0", TOKEN,
                             sleep=lambda s: None, retry=RetryPolicy(max_retries=1))
    with pytest.raises(GraphApiError) as caught:
        nowhere.ad_account("1001")
    assert "ConnectionError" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert TOKEN not in caplog.text
    assert TOKEN not in str(caught.value) and TOKEN not in repr(client)


def test_paging_next_to_another_host_is_refused(fake_api: FakeGraphApi) -> None:
    client = GraphApiClient(fake_api.url.replace("127.0.0.1", "localhost"), "v21.0", TOKEN,
                            sleep=lambda s: None)
    with pytest.raises(GraphApiError, match="paging.next points outside"):
        list(client.insights("1001", JAN_1, JAN_28))


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60)
    rng = random.Random(1)
    for attempt, ceiling in enumerate([2, 4, 8, 16, 32, 60, 60]):
        waits = {policy.backoff(attempt, False, rng) for _ in range(20)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(waits) > 1  # jittered


def test_account_ids_must_be_digits(client: GraphApiClient) -> None:
    with pytest.raises(GraphApiError, match="must be digits"):
        client.ad_account("act_12x")


def test_client_from_settings(fake_api: FakeGraphApi) -> None:
    settings = Settings.from_env()
    with pytest.raises(GraphApiError, match="META_ACCESS_TOKEN is not set"):
        GraphApiClient.from_settings(replace(settings, meta_access_token=None))
    client = GraphApiClient.from_settings(
        replace(settings, meta_access_token=TOKEN, meta_graph_url=fake_api.url,
                meta_api_version="v22.0"), sleep=lambda s: None)
    assert client.ad_account("1001")["name"] == "Account 1001"
    assert fake_api.requests[-1].path == "/v22.0/act_1001"


def test_a_request_refused_as_too_large_runs_as_an_async_report(
    client: GraphApiClient, fake_api: FakeGraphApi, sleeps: list[float],
) -> None:
    fake_api.refuse_as_too_large(1)
    rows = list(client.insights("1001", JAN_1, JAN_28))
    assert len(rows) == 96
    assert [r.status for r in fake_api.requests][0] == 500
    assert [(j.since, j.until) for j in fake_api.jobs.values()] == [("2024-01-01", "2024-01-28")]
    assert sleeps == [5.0]  # a poll wait, no retry of the refused request
