"""Loader progress into Dagster's log: every line at DEBUG (the UI shows them all), and at
most one INFO line every few seconds, so a console run of hundreds of files stays readable."""

import time
from collections.abc import Callable

from dagster import AssetExecutionContext


def throttled_progress(
    context: AssetExecutionContext, every_seconds: float = 5.0
) -> Callable[[str], None]:
    last_info = 0.0

    def report(message: str) -> None:
        nonlocal last_info
        context.log.debug(message)
        now = time.monotonic()
        if now - last_info >= every_seconds:
            last_info = now
            context.log.info(message)

    return report
