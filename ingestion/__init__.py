"""Plain-Python loaders and API clients for Beacon. No Dagster imports in this package."""
