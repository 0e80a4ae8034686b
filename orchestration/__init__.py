"""Everything Dagster and the `beacon` command line: thin wiring of ingestion/ and dbt."""
