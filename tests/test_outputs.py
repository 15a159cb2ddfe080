"""Outputs are written atomically: an interrupted write leaves nothing that looks finished."""

import json

import pandas as pd
import pytest

from sim.outputs import atomic_write, write_json, write_parquet


def test_failed_write_leaves_no_file_and_no_temporary(tmp_path):
    target = tmp_path / "summary.json"

    def crash(tmp):
        tmp.write_text('{"gmv": 1')  # half-written
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash)
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_the_previous_complete_file(tmp_path):
    target = write_json({"gmv": 1.0}, tmp_path / "summary.json")
    with pytest.raises(RuntimeError):
        atomic_write(target, lambda tmp: (tmp.write_text("{"), (_ for _ in ()).throw(RuntimeError()))[0])
    assert json.loads(target.read_text()) == {"gmv": 1.0}


def test_temporary_name_is_dot_prefixed_in_the_same_folder(tmp_path):
    seen = []
    atomic_write(tmp_path / "metrics.parquet", lambda tmp: (seen.append(tmp), tmp.write_bytes(b"x")))
    assert seen[0].parent == tmp_path and seen[0].name.startswith(".metrics.parquet")


def test_json_nan_becomes_null_and_parquet_roundtrips(tmp_path):
    path = write_json({"retention_d30": float("nan"), "n": 3}, tmp_path / "s.json")
    assert json.loads(path.read_text()) == {"retention_d30": None, "n": 3}
    frame = pd.DataFrame({"day": [1, 2], "gmv": [1.5, 2.25]})
    pd.testing.assert_frame_equal(pd.read_parquet(write_parquet(frame, tmp_path / "m.parquet")), frame)
