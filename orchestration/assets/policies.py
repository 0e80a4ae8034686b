"""Retries: transient failures (a dropped connection, a throttled API) retry with backoff;
errors a person must fix (a bad token, a missing file) fail at once."""

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Backoff, Failure, Jitter, RetryPolicy

from ingestion.errors import BeaconError

INGESTION_RETRY = RetryPolicy(
    max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)


@contextmanager
def fail_fast_on_user_errors() -> Iterator[None]:
    """Turn a BeaconError into a Dagster Failure that the retry policy does not retry."""
    try:
        yield
    except BeaconError as exc:
        raise Failure(description=str(exc), allow_retries=False) from exc
