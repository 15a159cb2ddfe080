"""catalogue=file: the merchant's own products, read and checked (sim/catalogue.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.build import build_config
from sim.catalogue import Catalogue
from sim.config import MarketConfig
from sim.errors import ConfigError
from sim.model import MarketModel

PRODUCTS = pd.DataFrame({"product_id": ["sku-1", "sku-2", "sku-3"], "merchant": ["shop-b", "shop-a", "shop-b"],
                         "price": [19.9, 120.0, 45.5], "unit_cost": [8.0, 70.0, 20.0], "quality": [0.6, 0.9, 0.7]})


def test_loads_prices_costs_quality_and_merchants(tmp_path):
    PRODUCTS.to_csv(tmp_path / "p.csv", index=False)
    cat = Catalogue.load(tmp_path / "p.csv", MarketConfig(), np.random.default_rng(0))
    assert cat.list_price_cents.tolist() == [1990, 12000, 4550] and cat.unit_cost_cents.tolist() == [800, 7000, 2000]
    assert cat.merchant.tolist() == [1, 0, 1] and cat.merchants == 2 and cat.merchant_ids.tolist() == ["shop-a", "shop-b"]
    assert cat.quality.tolist() == [0.6, 0.9, 0.7]
    PRODUCTS.drop(columns="quality").to_parquet(tmp_path / "q.parquet")
    cat = Catalogue.load(tmp_path / "q.parquet", MarketConfig(), np.random.default_rng(0))
    assert ((cat.quality >= 0) & (cat.quality <= 1)).all() and len(set(cat.quality)) == 3


@pytest.mark.parametrize("change, words", [
    (lambda f: f.drop(columns="unit_cost"), "no column 'unit_cost'"),
    (lambda f: f.assign(price=[19.9, -1.0, 3.0]), "row 2: price=-1.0"),
    (lambda f: f.assign(quality=[0.5, 0.5, 1.5]), "row 3: quality=1.5"),
    (lambda f: f.assign(product_id=["a", "b", "a"]), "row 3: product_id 'a' repeats"),
    (lambda f: f.iloc[:0], "holds no products"),
])
def test_bad_catalogues_are_refused_in_one_line(tmp_path, change, words):
    change(PRODUCTS.copy()).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(ConfigError) as err:
        Catalogue.load(tmp_path / "p.csv", MarketConfig(), np.random.default_rng(0))
    assert err.value.key == "catalogue.path" and words in str(err.value)


def test_the_market_sells_the_files_products_under_their_ids(tmp_path):
    from sim.outputs import write_run

    PRODUCTS.to_csv(tmp_path / "p.csv", index=False)
    config = build_config(days=20, start_date="2025-01-01", population={"size": 500},
                          catalogue={"kind": "file", "path": str(tmp_path / "p.csv")})
    model = MarketModel(config).run()
    assert len(model.merchants) == 2 and model.catalogue.size == 3
    write_run(model, tmp_path / "run")
    orders = pd.read_parquet(tmp_path / "run" / "orders.parquet")
    assert len(orders) and set(orders["product_id"]) <= {"sku-1", "sku-2", "sku-3"}
    assert set(np.round(orders["value"] / orders["quantity"], 2)) <= {19.9, 120.0, 45.5}


def test_the_command_line_takes_catalogue_file(tmp_path):
    from experiments.batch import compose

    PRODUCTS.to_csv(tmp_path / "p.csv", index=False)
    config = compose(["catalogue=file", f"catalogue.path={tmp_path / 'p.csv'}"]).config
    assert config.catalogue.kind == "file"
    with pytest.raises(ConfigError, match="catalogue.path"):
        compose(["catalogue=file"])
