"""Every model and every mart column is documented, and `dbt docs generate` builds the catalog."""

from __future__ import annotations

import json

import pytest

from tests.dbt.conftest import MARTS, BuiltWarehouse


def test_docs_generate_documents_every_model_and_mart_column(warehouse: BuiltWarehouse) -> None:
    if warehouse.server != "embedded":
        pytest.skip("docs do not depend on the server version")
    warehouse.dbt("docs", "generate")
    manifest = json.loads((warehouse.target_path / "manifest.json").read_text())
    catalog = json.loads((warehouse.target_path / "catalog.json").read_text())
    models = {node["name"]: node for node in manifest["nodes"].values()
              if node["resource_type"] == "model"}
    assert set(MARTS) <= set(models)
    assert [name for name, node in models.items() if not node["description"].strip()] == []
    for mart in MARTS:
        node = models[mart]
        built_columns = catalog["nodes"][node["unique_id"]]["columns"]
        undocumented = [column for column in built_columns
                        if not node["columns"].get(column, {}).get("description", "").strip()]
        assert undocumented == [], mart
