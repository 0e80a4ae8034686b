"""Retry policies: transient failures (a dropped connection, a throttled API) retry with backoff."""

from dagster import Backoff, Jitter, RetryPolicy

INGESTION_RETRY = RetryPolicy(
    max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)
