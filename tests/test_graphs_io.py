"""graphs.io: save/load round trips; damaged, foreign and incompatible files raise."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import meanfield
from graphs import load_network, sample_network, save_network
from graphs.io import FORMAT_VERSION
from meanfield import NetworkParams
from meanfield.degree import DegreeModel
from meanfield.seeding import SEED_RULE



@pytest.fixture(scope="module")
def net(akil):
    model = DegreeModel.separable("gamma", 0.3, "gamma", 0.3, rho=0.5)   # 2-d labels
    return sample_network(akil, model, N=1500, seed=7, external="explicit")


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(net, tmp_path, compress):
    path = save_network(net, tmp_path / "net.npz", compress=compress)
    back = load_network(path)
    assert back.equals(net)
    assert back.label.shape == (1500, 2)
    assert back.seed == 7
    assert back.model == json.loads(json.dumps(net.model))
    assert back.params == net.params
    assert back.provenance["synapses"] == net.n_synapses
    back.validate()
    assert sorted(os.listdir(tmp_path)) == ["net.npz"]            # no temporary left over
    # the model can be rebuilt from the stored description
    model = DegreeModel.from_spec(back.model["spec"])
    assert model.name == "separable"


def test_metadata_records_versions_and_seed(net, tmp_path):
    path = save_network(net, tmp_path / "n.npz")
    with np.load(path) as z:
        meta = json.loads(bytes(z["metadata"]).decode())
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["package_version"] == meanfield.__version__
    assert meta["seed"] == 7 and meta["n_synapses"] == net.n_synapses
    assert meta["seed_rule"] == net.seed_rule == SEED_RULE
    assert load_network(path).seed_rule == SEED_RULE
    assert NetworkParams.from_dict(meta["params"]) == net.params


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.99])
def test_truncated_file_raises(net, tmp_path, fraction):
    path = save_network(net, tmp_path / "net.npz")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_network(path)


def test_corrupted_array_bytes_raise(net, tmp_path):
    path = save_network(net, tmp_path / "net.npz")
    data = bytearray(path.read_bytes())
    i = len(data) // 3                       # inside the post_indices payload
    data[i:i + 8] = bytes(8 * [0xFF])
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError):
        load_network(path)


def _rewrite_metadata(path, change):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays["metadata"]).decode())
    change(meta)
    arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_incompatible_format_version_raises(net, tmp_path):
    path = save_network(net, tmp_path / "net.npz")

    def bump(meta):
        meta["format_version"] = FORMAT_VERSION + 1
        meta["package_version"] = "9.0.0"

    _rewrite_metadata(path, bump)
    with pytest.raises(ValueError, match=r"format version 2 \(written by hetbalance '9.0.0'\) "
                                         r"is incompatible"):
        load_network(path)


def test_inconsistent_metadata_raises(net, tmp_path):
    path = save_network(net, tmp_path / "net.npz")
    _rewrite_metadata(path, lambda m: m.update(n_synapses=m["n_synapses"] + 1))
    with pytest.raises(ValueError, match="disagree"):
        load_network(path)
    path2 = save_network(net, tmp_path / "net2.npz")
    _rewrite_metadata(path2, lambda m: m["params"].update(N=1499))
    with pytest.raises(ValueError):
        load_network(path2)


def test_invalid_structure_is_refused(tmp_path, akil):
    """A file whose arrays hold a multapse never becomes a Network."""
    small = sample_network(akil, N=100, seed=1)
    path = save_network(small, tmp_path / "net.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    ind = arrays["post_indices"].copy()
    start, stop = arrays["post_indptr"][0], arrays["post_indptr"][1]
    assert stop - start >= 2
    ind[start + 1] = ind[start]               # repeat a source in row 0: a multapse
    arrays["post_indices"] = ind
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="multapse"):
        load_network(path)


def test_foreign_files_raise(tmp_path):
    p = tmp_path / "other.npz"
    np.savez(p, a=np.arange(3))
    with pytest.raises(ValueError, match="not a hetbalance network file"):
        load_network(p)
    q = tmp_path / "text.npz"
    q.write_text("hello")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_network(q)
    with pytest.raises(FileNotFoundError):
        load_network(tmp_path / "missing.npz")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("metadata.npy", b"garbage")
    (tmp_path / "bad.npz").write_bytes(buf.getvalue())
    with pytest.raises(ValueError):
        load_network(tmp_path / "bad.npz")
