"""Progress lines into Dagster's log. Those marked as progress are also what `beacon`
prints (orchestration/console.py); the UI shows every line."""

import time
from collections.abc import Callable

from dagster import AssetExecutionContext

from orchestration.console import PROGRESS_MARK


def progress(context: AssetExecutionContext) -> Callable[[str], None]:
    """Report a progress line: INFO in the run's log, and on `beacon`'s console."""

    def report(message: str) -> None:
        context.log.info(message, extra={PROGRESS_MARK: True})

    return report


def throttled_progress(
    context: AssetExecutionContext, every_seconds: float = 5.0
) -> Callable[[str], None]:
    """Every line at DEBUG, and at most one progress line every few seconds, so a console run
    of hundreds of files stays readable."""
    console = progress(context)
    last_info: float | None = None  # the first line always shows (monotonic time may be small)

    def report(message: str) -> None:
        nonlocal last_info
        context.log.debug(message)
        now = time.monotonic()
        if last_info is None or now - last_info >= every_seconds:
            last_info = now
            console(message)

    return report
