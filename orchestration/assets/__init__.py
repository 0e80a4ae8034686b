"""Assets: raw loaders (keys equal the dbt sources' keys) and the dbt models."""
