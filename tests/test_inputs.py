"""Bad input: model files, data sets, CLI arguments. One-line errors, non-zero exits, no half files."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ttfs_deploy.cli import cli
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.model.checkpoint import load_checkpoint, save_checkpoint
from ttfs_deploy.model.network import ModelConfig, TTFSNet


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


@pytest.fixture
def tiny_model(tmp_path):
    path = tmp_path / "tiny.pt"
    save_checkpoint(str(path), TTFSNet(ModelConfig("FC8-FC10", (1, 8, 8), 10, T=4)), {"dataset": "digits"})
    return path


def _run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "evil.pt"
    torch.save({"format": "ttfs-deploy/1", "config": _RunsCode()}, bad)
    with pytest.raises(TTFSError, match="executable pickle content") as info:
        load_checkpoint(str(bad))
    assert "\n" not in str(info.value) and not (tmp_path / "pwned.txt").exists()
    code, _, err = _run("compile", str(bad), "--target", "loihi2", "-o", str(tmp_path / "out.nir"))
    assert code == 1 and err.count("\n") == 1 and "refused" in err
    assert not (tmp_path / "out.nir").exists() and not (tmp_path / "pwned.txt").exists()


def test_corrupt_and_missing_model_files(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(TTFSError, match="corrupt|not a valid"):
        load_checkpoint(str(junk))
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(TTFSError, match="not a ttfs-deploy checkpoint"):
        load_checkpoint(str(plain))
    code, out, err = _run("compile", str(tmp_path / "nope.pt"), "--target", "loihi2")
    assert code == 1 and err == f"error: model file {tmp_path / 'nope.pt'} not found; check the path or train one with `ttfs-deploy train`\n"


def test_bad_target_is_one_line_and_writes_nothing(tiny_model, tmp_path):
    out = tmp_path / "m.nir"
    code, _, err = _run("compile", str(tiny_model), "--target", "loihi9", "-o", str(out))
    assert code == 1 and err.count("\n") == 1 and "unknown target 'loihi9'" in err and "loihi2" in err
    assert not out.exists()


def test_compile_writes_nir_and_json(tiny_model, tmp_path):
    import json

    code, out, err = _run("compile", str(tiny_model), "--target", "loihi", "-o", str(tmp_path / "m.nir"),
                          "--json", str(tmp_path / "c.json"))
    assert code == 0, err
    report = json.loads((tmp_path / "c.json").read_text())
    assert {"target", "total_steps", "cores_used", "layers"} <= set(report)
    assert {"name", "neurons", "synapses", "weight_bits", "weight_exp", "cores"} <= set(report["layers"][0])


def test_wrong_cli_arguments_exit_2():
    assert _run("compile")[0] == 2
    assert _run("run", "x.nir", "--backend", "loihi")[0] == 2
    assert _run("nonsense")[0] == 2


@pytest.mark.parametrize("command", ["demo", "train", "compile", "run", "verify", "energy", "profiles"])
def test_every_subcommand_has_help(command):
    code, out, _ = _run(command, "--help")
    assert code == 0 and "Usage:" in out


def test_missing_fashion_mnist_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr("ttfs_deploy.data.datasets.SYSTEM_DIRS", {"fashion-mnist": str(tmp_path / "none"), "mnist": str(tmp_path / "none")})
    monkeypatch.delenv("TTFS_DATA_DIR", raising=False)
    with pytest.raises(TTFSError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", "test")


def _idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def test_idx_and_npz_data(tmp_path):
    images = np.arange(3 * 4 * 4).reshape(3, 4, 4) % 256
    _idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    _idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3]))
    data = load_dataset("mnist", "test", str(tmp_path))
    assert data.x.shape == (3, 1, 4, 4) and data.y.tolist() == [1, 2, 3]
    np.testing.assert_allclose(data.x[0, 0], images[0] / 255.0)
    np.savez(tmp_path / "d.npz", x_train=images, y_train=np.array([0, 1, 0]), x_test=images, y_test=np.array([1, 1, 0]))
    assert load_dataset(str(tmp_path / "d.npz"), "test").x.shape == (3, 1, 4, 4)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 8))
    with pytest.raises(TTFSError):
        load_dataset("mnist", "test", str(tmp_path))


def test_digits_split_is_fixed():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert (len(train), len(test)) == (1347, 450) and train.input_shape == (1, 8, 8)
    assert test.y[:10].tolist() == load_dataset("digits", "test").y[:10].tolist()


def test_encoders_latency_and_onoff():
    from ttfs_deploy.data.encoders import encode, encoded_shape

    x = np.array([[[[0.0, 1.0, 0.5]]]])
    assert encode("latency", x, 9).tolist() == [[-1, 0, 4]]
    assert encode("onoff", x, 9).tolist() == [[-1, 0, 4, 0, -1, 4]]
    assert encoded_shape("onoff", (1, 8, 8)) == (2, 8, 8)
    with pytest.raises(TTFSError, match="unknown input encoder"):
        encode("rate", x, 9)


def test_data_that_does_not_fit_the_network_is_one_line(tiny_model, tmp_path, monkeypatch):
    code, _, err = _run("compile", str(tiny_model), "--target", "loihi2", "-o", str(tmp_path / "m.nir"))
    assert code == 0, err
    np.savez(tmp_path / "other.npz", x_train=np.zeros((2, 5, 5)), y_train=np.zeros(2), x_test=np.zeros((2, 5, 5)),
             y_test=np.zeros(2))
    for command in (["run", "--backend", "eventsim"], ["verify", "--no-lava"], ["energy"]):
        code, _, err = _run(command[0], str(tmp_path / "m.nir"), *command[1:], "--data", str(tmp_path / "other.npz"))
        assert code == 1 and err.count("\n") == 1 and "expects" in err, (command, err)


def test_direct_encoder_is_a_constant_current_into_the_first_layer():
    """One FC neuron, weight 0.25 from one pixel, threshold 1: V[t] = (t + 1) * 0.25 * x, so
    x = 1 fires at t = 3, x = 0.5 at t = 7 and x = 0.2 (V[9] = 0.5) never within T = 10."""
    from ttfs_deploy.data.encoders import encode

    x = np.array([1.0, 0.5, 0.2, 1.7]).reshape(4, 1, 1, 1)
    assert encode("direct", x, 10).ravel().tolist() == pytest.approx([1.0, 0.5, 0.2, 1.0])
    model = TTFSNet(ModelConfig("FC1", (1, 1, 1), 1, T=10, encoder="direct", norm="none"))
    with torch.no_grad():
        model.layers[0].weight.fill_(0.25)
        model.layers[0].bias.zero_()
    spikes, _, _ = model.run(torch.as_tensor(encode("direct", x, 10)))
    first = [int(s.nonzero()[0]) if s.any() else -1 for s in spikes[-1][:, :, 0].T]
    assert first == [3, 7, -1, 3]
