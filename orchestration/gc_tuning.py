"""Python's cyclic garbage collector, set for Beacon's commands and the dbt they start.

Importing Dagster, dagster-dbt and dbt-core leaves ~260,000 long-lived objects that the
collector tracks. With the default thresholds it runs every 700 new containers and, now and
then, traverses them all; at exit it traverses them once more (~0.4 s). A `beacon build`
with nothing to do spent ~1 s of its ~8 s there, in the `beacon` process and in dbt's. The
objects are freed by their reference counts either way; only cycles wait longer for a
collection, and at exit for none (the process's memory goes back whole).
"""

import atexit
import gc

# New containers between young-generation collections (700 by default).
YOUNG_GENERATION_THRESHOLD = 10_000


def collect_less() -> None:
    """Call first thing in a process: fewer collections while it runs, none at exit."""
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, 10, 10)
    # atexit runs the last registered first: registered first thing, this runs last, just
    # before the interpreter's final collection, which then skips every object frozen here.
    # What that skips: finalizers of objects caught in reference cycles (their memory goes
    # back with the process; files and connections are closed by the code that opens them).
    atexit.register(gc.freeze)
