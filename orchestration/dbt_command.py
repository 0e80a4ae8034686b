"""`beacon-dbt`: dbt's own command line, in a process whose garbage collector is set like the
`beacon` command's (orchestration/gc_tuning.py: ~0.5 s of each dbt build's start and exit).
Beacon's Dagster definitions run dbt through it; by hand, `dbt` is the same command."""

import sys

from orchestration.gc_tuning import collect_less


def main() -> int:
    collect_less()
    from dbt.cli.main import cli  # after the collector is set: the import is most of the objects

    return cli()


if __name__ == "__main__":
    sys.exit(main())
