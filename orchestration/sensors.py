"""A sensor that loads event files as they land, one run per new set of files."""

import hashlib

from dagster import RunRequest, SensorEvaluationContext, SkipReason, sensor

from ingestion.events.landing import pending_files
from orchestration.jobs import refresh_job
from orchestration.resources import LandingResource, WarehouseResource


def file_set_key(paths) -> str:
    """A run key for a set of files: the same files (path, size, mtime) give the same key."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@sensor(job=refresh_job, minimum_interval_seconds=60)
def new_event_files_sensor(
    context: SensorEvaluationContext, warehouse: WarehouseResource, landing: LandingResource
):
    files = pending_files(warehouse.get_dsn(), landing.get_path())
    if not files:
        return SkipReason("no new event files")
    key = file_set_key(files)
    if key == context.cursor:  # this set already has its run (it may still be loading)
        return SkipReason(f"a run for these {len(files)} file(s) was already requested")
    context.update_cursor(key)
    context.log.info(f"{len(files)} new event file(s)")
    return RunRequest(run_key=key, tags={"beacon/new_files": str(len(files))})
