"""Friendship network generators, file input, neighbour sums and the KOL follower graph."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sim.config import KOLConfig, NetworkConfig
from sim.errors import ConfigError
from sim.network import (
    SocialNetwork,
    build_follower_graph,
    build_network,
    load_network_file,
)

GENERATED = ["barabasi_albert", "watts_strogatz", "erdos_renyi", "holme_kim", "sbm"]
SIZE = {"holme_kim": 2_000}
N = 5_000


def size_of(kind: str) -> int:
    return SIZE.get(kind, N)


_CACHE: dict = {}


def net_of(kind: str, seed: int = 0, n: int | None = None, **cfg) -> SocialNetwork:
    n = size_of(kind) if n is None else n
    key = (kind, seed, n, tuple(sorted(cfg.items())))
    if key not in _CACHE:
        _CACHE[key] = build_network(NetworkConfig(kind=kind, **cfg), n, np.random.default_rng(seed))
    return _CACHE[key]


def avg_clustering(adj: sp.csr_matrix) -> float:
    """Mean local clustering coefficient (0 for degree < 2), like networkx.average_clustering."""
    a = adj.astype(np.float64)
    closed = np.asarray((a @ a).multiply(a).sum(axis=1)).ravel()  # 2 x triangles at each node
    d = np.diff(adj.indptr).astype(np.float64)
    pairs = d * (d - 1)
    c = np.divide(closed, pairs, out=np.zeros_like(closed), where=pairs > 0)
    return float(c.mean())


def assert_simple_symmetric(net: SocialNetwork) -> None:
    a = net.adjacency
    assert isinstance(a, sp.csr_matrix)
    assert a.shape == (net.n, net.n)
    assert a.indices.dtype == np.int32 and a.indptr.dtype == np.int32
    assert a.data.dtype == np.float32 and np.all(a.data == 1.0)
    assert (a != a.T).nnz == 0, "not symmetric"
    assert a.diagonal().sum() == 0, "self-loops"
    rows = np.repeat(np.arange(net.n), np.diff(a.indptr))
    keys = rows.astype(np.int64) * net.n + a.indices
    assert np.unique(keys).size == a.nnz, "duplicate entries"
    assert net.degree.dtype == np.int32
    np.testing.assert_array_equal(net.degree, np.diff(a.indptr))
    assert net.n_edges * 2 == a.nnz


# --------------------------------------------------------------------------- generators
@pytest.mark.parametrize("kind", GENERATED)
def test_generator_is_simple_symmetric_with_target_mean_degree(kind):
    net = net_of(kind)
    assert net.kind == kind and net.n == size_of(kind)
    assert_simple_symmetric(net)
    assert net.mean_degree == pytest.approx(10.0, rel=0.10)
    assert net.mean_degree == pytest.approx(net.degree.mean())


@pytest.mark.parametrize("kind", GENERATED)
def test_same_seed_same_graph_different_seed_different(kind):
    a = net_of(kind, seed=0)
    b = build_network(NetworkConfig(kind=kind), size_of(kind), np.random.default_rng(0))
    np.testing.assert_array_equal(a.adjacency.indptr, b.adjacency.indptr)
    np.testing.assert_array_equal(a.adjacency.indices, b.adjacency.indices)
    np.testing.assert_array_equal(a.degree, b.degree)
    c = net_of(kind, seed=1)
    assert a.adjacency.nnz != c.adjacency.nnz or not np.array_equal(a.adjacency.indices, c.adjacency.indices)


@pytest.mark.parametrize("k", [3.0, 5.5, 7.0])
@pytest.mark.parametrize("kind", ["barabasi_albert", "watts_strogatz", "erdos_renyi", "sbm"])
def test_non_even_mean_degree_is_honoured(kind, k):
    net = build_network(NetworkConfig(kind=kind, mean_degree=k), 4_000, np.random.default_rng(3))
    assert net.mean_degree == pytest.approx(k, rel=0.05)


def test_barabasi_albert_is_heavy_tailed():
    net = net_of("barabasi_albert")
    assert net.degree.max() > 5 * net.mean_degree
    assert net.degree.min() >= 1


def test_watts_strogatz_clusters_more_than_erdos_renyi():
    ws = avg_clustering(net_of("watts_strogatz").adjacency)
    er = avg_clustering(net_of("erdos_renyi").adjacency)
    assert ws > 0.3 and er < 0.01 and ws > er


def test_holme_kim_clusters_more_than_barabasi_albert():
    hk = avg_clustering(net_of("holme_kim").adjacency)
    ba = avg_clustering(net_of("barabasi_albert", n=size_of("holme_kim")).adjacency)
    assert hk > ba + 0.05


def test_own_clustering_matches_networkx():
    net = net_of("holme_kim")
    g = nx.from_scipy_sparse_array(net.adjacency)
    assert avg_clustering(net.adjacency) == pytest.approx(nx.average_clustering(g), abs=1e-9)


@pytest.mark.parametrize("mixing", [0.1, 0.3])
def test_sbm_communities_and_mixing(mixing):
    net = net_of("sbm", mixing=mixing, community_size=100)
    assert net.community is not None and net.community.dtype == np.int32
    sizes = np.bincount(net.community)
    assert sizes.size == round(net.n / 100) and sizes.max() - sizes.min() <= 1 and abs(sizes.mean() - 100) < 1
    assert np.all(np.diff(net.community) >= 0), "communities are contiguous"
    coo = net.adjacency.tocoo()
    within = np.mean(net.community[coo.row] == net.community[coo.col])
    assert within == pytest.approx(1 - mixing, abs=0.03)


def test_other_kinds_have_no_community():
    assert net_of("erdos_renyi").community is None
    assert net_of("erdos_renyi").node_ids is None


# --------------------------------------------------------------------------- neighbour sums
def test_complete_graph_is_not_materialized_and_shares_are_exact():
    n = 7
    net = build_network(NetworkConfig(kind="complete"), n, np.random.default_rng(0))
    assert net.adjacency is None
    assert net.degree.dtype == np.int32 and np.all(net.degree == n - 1)
    assert net.n_edges == 21 and net.mean_degree == 6.0
    mask = np.array([True, False, True, True, False, False, False])
    # 3 in the mask: members see 2 of 6 others, non-members see 3 of 6
    expected = np.array([2, 3, 2, 2, 3, 3, 3]) / 6
    np.testing.assert_array_equal(net.neighbour_share(mask), expected)
    np.testing.assert_array_equal(net.neighbour_count(mask), expected * 6)
    vals = np.arange(14, dtype=np.float64).reshape(7, 2)
    np.testing.assert_allclose(net.neighbour_count(vals), vals.sum(axis=0) - vals)
    assert net.neighbour_share(mask).dtype == np.float64


def test_neighbour_sums_on_hand_written_graph():
    # 0-1, 0-2, 1-2 (triangle), 2-3, node 4 isolated
    indptr = np.array([0, 2, 4, 7, 8, 8], np.int32)
    indices = np.array([1, 2, 0, 2, 0, 1, 3, 2], np.int32)
    adj = sp.csr_matrix((np.ones(8, np.float32), indices, indptr), shape=(5, 5))
    net = SocialNetwork(n=5, kind="custom", adjacency=adj, degree=np.diff(indptr).astype(np.int32))
    assert net.n_edges == 4 and net.mean_degree == pytest.approx(1.6)
    mask = np.array([True, False, False, True, True])
    np.testing.assert_array_equal(net.neighbour_count(mask), [0, 1, 2, 0, 0])
    np.testing.assert_array_equal(net.neighbour_share(mask), [0, 1 / 2, 2 / 3, 0, 0])
    vals = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0], [8.0, 80.0], [16.0, 160.0]])
    np.testing.assert_allclose(net.neighbour_count(vals), [[6, 60], [5, 50], [11, 110], [4, 40], [0, 0]])
    np.testing.assert_allclose(net.neighbour_share(vals), [[3, 30], [2.5, 25], [11 / 3, 110 / 3], [4, 40], [0, 0]])
    assert net.neighbour_share(mask).dtype == np.float64
    with pytest.raises(ValueError):
        net.neighbour_count(np.ones(4))


def test_from_edges_symmetrizes_and_drops_loops_and_repeats():
    net = SocialNetwork.from_edges([0, 1, 2, 2, 3, 1], [1, 0, 2, 3, 2, 2], 5)
    assert_simple_symmetric(net)
    assert net.n_edges == 3
    np.testing.assert_array_equal(net.degree, [1, 2, 2, 1, 0])


# --------------------------------------------------------------------------- build errors
def test_build_errors_name_the_key():
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="population.size"):
        build_network(NetworkConfig(kind="erdos_renyi"), 1, rng)
    with pytest.raises(ConfigError, match="population.size"):
        build_network(NetworkConfig(kind="complete"), 1, rng)
    with pytest.raises(ConfigError, match=r"network.mean_degree.*must be < population.size=10"):
        build_network(NetworkConfig(kind="barabasi_albert", mean_degree=10), 10, rng)
    with pytest.raises(ConfigError, match=r"network.mean_degree.*no ties"):
        build_network(NetworkConfig(kind="erdos_renyi", mean_degree=1e-4), 1_000, rng)
    with pytest.raises(ConfigError, match="network.community_size"):
        build_network(NetworkConfig(kind="sbm", community_size=1_001), 1_000, rng)
    with pytest.raises(ConfigError, match="network.kind"):
        build_network(NetworkConfig(kind="lattice"), 1_000, rng)


def test_small_mean_degree_barabasi_albert_still_has_ties():
    net = build_network(NetworkConfig(kind="barabasi_albert", mean_degree=0.5), 1_000, np.random.default_rng(0))
    assert net.n_edges > 0  # m = max(1, k/2)


# --------------------------------------------------------------------------- followers
def test_follower_graph_shape_dtype_no_repeats_heavy_tail_and_cap():
    cfg = KOLConfig(count=200, follower_min_share=0.001, follower_alpha=0.7, follower_max_share=0.5)
    n = 100_000
    f = build_follower_graph(cfg, n, np.random.default_rng(5))
    assert isinstance(f, sp.csr_matrix) and f.shape == (200, n)
    assert f.indices.dtype == np.int32 and f.indptr.dtype == np.int32
    assert f.data.dtype == np.float32 and np.all(f.data == 1.0)
    per_row = np.diff(f.indptr)
    for k in range(200):
        row = f.indices[f.indptr[k]:f.indptr[k + 1]]
        assert np.unique(row).size == row.size
    assert per_row.min() >= 1
    assert per_row.max() <= 0.5 * n
    assert per_row.max() > 10 * np.median(per_row)
    assert np.median(per_row) >= 100
    g = build_follower_graph(cfg, n, np.random.default_rng(5))
    np.testing.assert_array_equal(f.indptr, g.indptr)
    np.testing.assert_array_equal(f.indices, g.indices)


def test_follower_counts_are_exact_including_rows_above_half():
    cfg = KOLConfig(count=40, follower_min_share=0.3, follower_alpha=0.5, follower_max_share=0.9)
    n = 1_000
    f = build_follower_graph(cfg, n, np.random.default_rng(9))
    draws = np.random.default_rng(9).pareto(cfg.follower_alpha, size=cfg.count)
    expected = np.clip(np.rint(np.minimum(300 * (1 + draws), 900)), 1, 900)
    assert (expected > n / 2).any() and (expected <= n / 2).any()
    np.testing.assert_array_equal(np.diff(f.indptr), expected)
    for k in range(cfg.count):
        row = f.indices[f.indptr[k]:f.indptr[k + 1]]
        assert np.all(np.diff(row) > 0)  # sorted, no repeats
    # followers are spread over all consumers, not a block
    assert np.bincount(f.indices, minlength=n).min() > 0


def test_follower_graph_full_cap_and_empty():
    f = build_follower_graph(KOLConfig(count=5, follower_min_share=1.0, follower_max_share=1.0), 300,
                             np.random.default_rng(0))
    np.testing.assert_array_equal(np.diff(f.indptr), [300] * 5)
    e = build_follower_graph(KOLConfig(count=0), 300, np.random.default_rng(0))
    assert e.shape == (0, 300) and e.nnz == 0


# --------------------------------------------------------------------------- file input
EDGES = [(1000003, 17), (17, 42), (42, 1000003), (42, 5), (5, 5), (17, 42)]  # a loop and a repeat


def check_file_net(net: SocialNetwork) -> None:
    assert net.kind == "file" and net.n == 4
    np.testing.assert_array_equal(net.node_ids, [5, 17, 42, 1000003])
    assert net.n_edges == 4
    assert_simple_symmetric(net)
    # index 2 is id 42: tied to 17, 1000003 and 5
    assert sorted(net.adjacency.indices[net.adjacency.indptr[2]:net.adjacency.indptr[3]]) == [0, 1, 3]


def test_csv_edge_list(tmp_path):
    p = tmp_path / "edges.csv"
    pd.DataFrame(EDGES, columns=["source", "target"]).to_csv(p, index=False)
    check_file_net(load_network_file(p))
    net = build_network(NetworkConfig(kind="file", path=str(p)), 999, np.random.default_rng(0))
    check_file_net(net)


def test_csv_other_two_columns_and_no_header(tmp_path):
    p = tmp_path / "edges.csv"
    pd.DataFrame(EDGES, columns=["from", "to"]).to_csv(p, index=False)
    check_file_net(load_network_file(p))
    q = tmp_path / "bare.csv"
    pd.DataFrame(EDGES).to_csv(q, index=False, header=False)
    check_file_net(load_network_file(q))


def test_parquet_edge_list(tmp_path):
    p = tmp_path / "edges.parquet"
    df = pd.DataFrame(EDGES, columns=["target", "source"])[["source", "target"]]
    df["weight"] = 1.0  # extra columns are ignored when source and target exist
    df.to_parquet(p)
    check_file_net(load_network_file(p))


def test_graphml(tmp_path):
    g = nx.Graph()
    g.add_nodes_from(["carol", "alice", "bob", "dave"])  # dave is isolated
    g.add_edges_from([("alice", "bob"), ("bob", "carol"), ("carol", "alice")])
    p = tmp_path / "g.graphml"
    nx.write_graphml(g, p)
    net = load_network_file(p)
    assert net.n == 4 and net.n_edges == 3
    assert list(net.node_ids) == ["alice", "bob", "carol", "dave"]
    np.testing.assert_array_equal(net.degree, [2, 2, 2, 0])
    assert_simple_symmetric(net)


def test_graphml_integer_ids_sorted_numerically(tmp_path):
    g = nx.path_graph([10, 2, 33, 4])
    p = tmp_path / "g.xml"
    nx.write_graphml(g, p)
    net = load_network_file(p)
    np.testing.assert_array_equal(net.node_ids, [2, 4, 10, 33])
    assert net.n_edges == 3


def _write(path, text):
    path.write_text(text)
    return path


BAD_FILES = {
    "missing": lambda d: d / "nope.csv",
    "suffix": lambda d: _write(d / "edges.txt", "source,target\n1,2\n"),
    "empty": lambda d: _write(d / "edges.csv", ""),
    "blank": lambda d: _write(d / "edges.csv", "\n\n"),
    "header_only": lambda d: _write(d / "edges.csv", "source,target\n"),
    "malformed_csv": lambda d: _write(d / "edges.csv", "source,target\n1,2\n3,4,5,6\n"),
    "wrong_columns": lambda d: _write(d / "edges.csv", "a,b,c\n1,2,3\n"),
    "one_column": lambda d: _write(d / "edges.csv", "source\n1\n2\n"),
    "letter_id": lambda d: _write(d / "edges.csv", "source,target\n1,2\na,3\n"),
    "float_id": lambda d: _write(d / "edges.csv", "source,target\n1,2\n1.5,3\n"),
    "nan_id": lambda d: _write(d / "edges.csv", "source,target\n1,2\n3,\n"),
    "self_loops_only": lambda d: _write(d / "edges.csv", "source,target\n1,1\n2,2\n"),
    "malformed_parquet": lambda d: _write(d / "edges.parquet", "this is not parquet"),
    "malformed_graphml": lambda d: _write(d / "g.graphml", "<graphml><graph><node id="),
    "graphml_no_edges": lambda d: _graphml(d, nx.empty_graph(3)),
    "graphml_self_loops": lambda d: _graphml(d, nx.Graph([(1, 1), (2, 2)])),
    "directory": lambda d: (d / "dir.csv").mkdir() or d / "dir.csv",
}


def _graphml(d, g):
    p = d / "g.graphml"
    nx.write_graphml(g, p)
    return p


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_one_line_config_error(tmp_path, case):
    path = BAD_FILES[case](tmp_path)
    with pytest.raises(ConfigError) as info:
        load_network_file(path)
    msg = str(info.value)
    assert info.value.key == "network.path" and info.value.value == str(path)
    assert "network.path" in msg and "\n" not in msg
    with pytest.raises(ConfigError, match="network.path"):
        build_network(NetworkConfig(kind="file", path=str(path)), 10, np.random.default_rng(0))


def test_bad_file_messages_say_what_is_wrong(tmp_path):
    cases = {
        "missing": "does not exist",
        "suffix": ".graphml",
        "empty": "empty",
        "header_only": "no edges",
        "malformed_csv": "malformed",
        "wrong_columns": "['a', 'b', 'c']",
        "letter_id": "'a'",
        "float_id": "1.5",
        "nan_id": "NaN",
        "self_loops_only": "isolated",
        "graphml_no_edges": "no edges",
    }
    for case, words in cases.items():
        d = tmp_path / case
        d.mkdir()
        with pytest.raises(ConfigError) as info:
            load_network_file(BAD_FILES[case](d))
        assert words in str(info.value), (case, str(info.value))


def test_mask_counts_push_and_matvec_agree_exactly():
    """Few consumers in the mask: counts pushed from their rows; many: a mat-vec. Same numbers."""
    from sim.config import NetworkConfig
    from sim.network import build_network

    net = build_network(NetworkConfig(kind="barabasi_albert", mean_degree=8), 3000, np.random.default_rng(5))
    rng = np.random.default_rng(6)
    for share in (0.01, 0.2, 0.9):
        mask = rng.random(3000) < share
        expected = np.asarray(net.adjacency @ mask.astype(np.float64)).ravel()
        assert np.array_equal(net.neighbour_count(mask), expected)
        both = net.neighbour_count(np.column_stack([mask, ~mask]))
        assert np.array_equal(both[:, 1], np.asarray(net.adjacency @ (~mask).astype(np.float64)).ravel())
    assert np.array_equal(net.neighbour_count(np.zeros(3000, dtype=bool)), np.zeros(3000))
