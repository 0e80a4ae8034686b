"""A fake Graph API over real HTTP, serving two small ad accounts, and a client whose
waits are recorded instead of slept."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ingestion.facebook_ads.client import GraphApiClient, RetryPolicy
from ingestion.facebook_ads.fake_graph_api import FakeGraphApi
from tests.ingestion.facebook_ads.fixture_data import build_account, write_fixtures

START = date(2024, 1, 1)
DAYS = 100
TOKEN = "EAAB-test-secret-token-0123456789"


@pytest.fixture(scope="session")
def accounts() -> dict[str, dict[str, Any]]:
    return {
        "1001": build_account("1001", start=START, days=DAYS),
        "2002": build_account("2002", start=START, days=DAYS, currency="EUR",
                              timezone_name="Europe/Berlin", campaigns=1, ads_per_campaign=3),
    }


@pytest.fixture(scope="session")
def fixtures_dir(tmp_path_factory: pytest.TempPathFactory,
                 accounts: dict[str, dict[str, Any]]) -> Path:
    return write_fixtures(tmp_path_factory.mktemp("graph-fixtures"), *accounts.values())


@pytest.fixture
def fake_api(fixtures_dir: Path) -> Iterator[FakeGraphApi]:
    with FakeGraphApi(fixtures_dir, page_size=10, access_token=TOKEN) as api:
        yield api


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(fake_api: FakeGraphApi, sleeps: list[float]) -> Iterator[GraphApiClient]:
    api = GraphApiClient(fake_api.url, "v21.0", TOKEN, sleep=sleeps.append,
                         rng=random.Random(7), retry=RetryPolicy(max_retries=4))
    yield api
    api.close()
