"""sweep(): parallel evaluation, content-hash cache keys, resume after interruption."""

import concurrent.futures as cf
import pathlib

import numpy as np
import pytest

from meanfield import DegreeModel, NetworkParams
from validation.cache import content_hash
from validation.sweeps import grid, sweep


def square(x, tag="a"):
    return {"x2": x * x, "tag": tag}


def logged_square(x, log_dir, fail_on=None):
    # leaves one marker file per call, so a test can count how often a point was computed
    log = pathlib.Path(log_dir)
    n = len(list(log.glob(f"x{x}_*")))
    (log / f"x{x}_{n}").touch()
    if fail_on is not None and x == fail_on and (log / "fail").exists():
        raise RuntimeError(f"simulated crash at x={x}")
    return x * x


def interrupt_at(x, log_dir):
    if x == 2:
        raise KeyboardInterrupt
    return logged_square(x, log_dir)


def test_grid():
    g = grid(N=[1, 2], seed=[0, 1, 2])
    assert len(g) == 6 and g[-1] == {"N": 2, "seed": 2}


def test_content_hash_uses_array_contents_not_str():
    a = np.zeros(5000)
    b = a.copy()
    b[2500] = 1e-12
    assert str(a) == str(b)          # numpy elides the middle of long arrays
    assert content_hash(a) != content_hash(b)
    assert content_hash(a) == content_hash(a.copy())
    assert content_hash(np.zeros(3, np.float32)) != content_hash(np.zeros(3, np.float64))


def test_content_hash_params_model_version():
    p = NetworkParams.preset("akil2021")
    m = DegreeModel.assortative(3.0)
    k = content_hash(p, m, 0)
    assert k == content_hash(NetworkParams.preset("akil2021"), DegreeModel.assortative(3.0), 0)
    assert k != content_hash(p.replace(N=2500), m, 0)
    assert k != content_hash(p, DegreeModel.assortative(2.0), 0)
    assert k != content_hash(p, m, 1)
    assert k != content_hash(p, m, 0, version="0.0.0")
    with pytest.raises(TypeError, match="int seed"):
        content_hash(np.random.default_rng(0))


@pytest.mark.parametrize("kind", ["serial", "threads", "processes"])
def test_sweep_executors_keep_order(kind, tmp_path):
    points = grid(x=list(range(6)))
    if kind == "serial":
        res = sweep(square, points, executor="serial")
    elif kind == "threads":
        with cf.ThreadPoolExecutor(2) as ex:
            res = sweep(square, points, executor=ex)
    else:
        res = sweep(square, points, max_workers=2)
    assert [r["x2"] for r in res.results] == [x * x for x in range(6)]
    assert res.complete and len(res) == 6


def test_sweep_resumes_from_cache_after_crash(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    (log / "fail").touch()
    points = [{"x": x, "log_dir": str(log), "fail_on": 3} for x in range(5)]
    with cf.ThreadPoolExecutor(2) as ex:
        r1 = sweep(logged_square, points, executor=ex, cache_dir=tmp_path / "c", raise_errors=False)
    assert not r1.complete and list(r1.errors) == [3]
    (log / "fail").unlink()
    with cf.ThreadPoolExecutor(2) as ex:
        r2 = sweep(logged_square, points, executor=ex, cache_dir=tmp_path / "c")
    assert r2.complete and r2.results == [0, 1, 4, 9, 16]
    assert r2.from_cache == [True, True, True, False, True]
    # every finished point was computed exactly once over both runs; the crashed one twice
    counts = {x: len(list(log.glob(f"x{x}_*"))) for x in range(5)}
    assert counts == {0: 1, 1: 1, 2: 1, 3: 2, 4: 1}


def test_sweep_keyboard_interrupt_returns_partial_and_resumes(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    points = [{"x": x, "log_dir": str(log)} for x in range(4)]
    r1 = sweep(interrupt_at, points, executor="serial", cache_dir=tmp_path / "c")
    assert not r1.complete and r1.results[:2] == [0, 1] and r1.results[2] is None
    r2 = sweep(logged_square, points, executor="serial", cache_dir=tmp_path / "c2")
    assert r2.complete
    # resume with the same function: the two finished points come from the cache
    r3 = sweep(interrupt_at, points[:2], executor="serial", cache_dir=tmp_path / "c")
    assert r3.from_cache == [True, True]


def test_sweep_with_dask_executor(tmp_path):
    import distributed     # in the [test] extra: missing is an error, not a skip
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        res = sweep(square, grid(x=[1, 2, 3]), executor=client.get_executor(),
                    cache_dir=tmp_path / "c")
    assert [r["x2"] for r in res.results] == [1, 4, 9]
    again = sweep(square, grid(x=[1, 2, 3]), executor="serial", cache_dir=tmp_path / "c")
    assert all(again.from_cache)


def test_sweep_progress_bar_with_and_without_tqdm(tmp_path, capsys, monkeypatch):
    import tqdm  # noqa: F401  (in the [test] extra: missing is an error, not a skip)
    points = grid(x=[1, 2, 3])
    sweep(square, points[:1], executor="serial", cache_dir=tmp_path, progress=False)
    assert capsys.readouterr().err == ""
    res = sweep(square, points, executor="serial", cache_dir=tmp_path, progress=True)
    err = capsys.readouterr().err
    assert res.from_cache == [True, False, False]
    # (redraws at most every 0.5 s: the fast points show only the start and the end)
    assert "sweep:   0.0%" in err and "sweep: 100.0%" in err and "3/3 points" in err
    # without tqdm: no bar, no error, the same results
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)
    again = sweep(square, points, executor="serial", progress=True)
    assert capsys.readouterr().err == "" and again.results == res.results
