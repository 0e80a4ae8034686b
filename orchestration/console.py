"""What `beacon` shows while a Dagster run works: our own progress lines, not Dagster's event
stream or dbt's log (those stay in the run's logs in the UI; `--debug` prints them too)."""

import logging
import os
import sys

from dagster import InitLoggerContext, logger


def verbose() -> bool:
    return bool(os.environ.get("BEACON_DEBUG"))


class _OwnMessages(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return "  " + record.dagster_meta["orig_message"]


# dagster-dbt's INFO lines about how it calls dbt: run details, not progress.
DAGSTER_DBT_CHATTER = (
    "A dbt subsetted execution",
    "Copying `",
    "Running dbt command",
    "Finished dbt command",
)


def _is_own_message(record: logging.LogRecord) -> bool:
    meta = getattr(record, "dagster_meta", None)
    return (
        record.levelno == logging.INFO
        and isinstance(meta, dict)
        and meta.get("dagster_event") is None
        and not str(meta.get("orig_message", "")).startswith(DAGSTER_DBT_CHATTER)
    )


@logger(description="Progress lines of Beacon's own code, on stderr.")
def beacon_console(init_context: InitLoggerContext) -> logging.Logger:
    log = logging.getLogger("beacon.console")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OwnMessages())
    handler.addFilter(_is_own_message)
    log.handlers = [handler]
    return log
