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


# The `extra` key that marks a log line as Beacon's progress (orchestration/assets/progress.py):
# only those reach the quiet console, whatever INFO lines Dagster or dagster-dbt add.
PROGRESS_MARK = "beacon_progress"


def _is_own_message(record: logging.LogRecord) -> bool:
    return getattr(record, PROGRESS_MARK, False) is True


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
