"""Hostile and broken inputs, one row per case: every command answers with exit 1 (2 for usage
errors) and exactly one stderr line ``error: <problem>; <fix>``, never a traceback or a hang,
writes no output and changes no input byte.

Each row crafts its files in a fresh folder (copies of one tiny model, its NIR file and a small
``.npz``, built once per module), runs the command line in-process (``CliRunner``, bounded by an
alarm so that a hang fails the test) and compares the folder before and after. A few checks
need a real process: the console entry point, SIGTERM during a run, an interrupt at start-up.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple

import h5py
import nir
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ttfs_deploy.cli import cli
from ttfs_deploy.compile.pipeline import compile_model
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.io_utils import command_outputs, write_text
from ttfs_deploy.ir.nir_io import int_to_nir, read_int, write_graph
from ttfs_deploy.model.checkpoint import save_checkpoint
from ttfs_deploy.model.network import ModelConfig, TTFSNet

ROOT = Path(__file__).resolve().parents[1]
ERROR_LINE = re.compile(r"^error: [^\n]+; [^\n]+\n$")
CASE_SECONDS = 60  #: a case running longer than this counts as a hang


class Hung(BaseException):
    """Raised by the alarm: not an Exception, so the CLI's own handlers cannot swallow it."""


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """model.pt (untrained FC8-FC10, digits, T 4, onoff), model.nir (loihi2) and data.npz (20 digits,
    two per class)."""
    folder = tmp_path_factory.mktemp("base")
    torch.manual_seed(0)
    model = TTFSNet(ModelConfig("FC8-FC10", (1, 8, 8), 10, T=4, encoder="onoff"))
    save_checkpoint(str(folder / "model.pt"), model, {"dataset": "digits"})
    _, net = compile_model(model.eval(), load_profile("loihi2"))
    net.metadata["dataset"] = "digits"
    write_graph(int_to_nir(net), str(folder / "model.nir"))
    test = load_dataset("digits", "test")
    pick = np.concatenate([np.nonzero(test.y == c)[0][:2] for c in range(10)])  # every class twice
    np.savez(folder / "data.npz", x_train=test.x[pick], y_train=test.y[pick], x_test=test.x[pick], y_test=test.y[pick])
    return folder


def snapshot(folder: Path) -> Dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def invoke(args: List[str], cwd: Path):
    """Run the CLI in-process in ``cwd``; a run past CASE_SECONDS raises :class:`Hung`."""
    def alarm(signum, frame):
        raise Hung(f"{args} ran longer than {CASE_SECONDS} s")

    old_cwd, old_handler = os.getcwd(), signal.signal(signal.SIGALRM, alarm)
    os.chdir(cwd)
    signal.alarm(CASE_SECONDS)
    try:
        return CliRunner().invoke(cli, args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        os.chdir(old_cwd)


# --- crafting helpers --------------------------------------------------------------------------

def tampered_nir(base: Path, d: Path, edit: Callable) -> str:
    """model.nir with ``edit(net)`` applied to the network after reading (no validation on write)."""
    net = read_int(str(base / "model.nir"))
    edit(net)
    write_graph(int_to_nir(net), str(d / "bad.nir"))
    return "bad.nir"


def rewired_nir(base: Path, d: Path, edges_of: Callable) -> str:
    graph = nir.read(str(base / "model.nir"))
    graph.edges = edges_of(list(graph.edges))
    nir.write(str(d / "bad.nir"), graph)
    return "bad.nir"


def cyclic(edges):
    return edges + [("fc1_if", "fc1_if")]  # shapes agree, so only the chain check can refuse it


def back_edge_first(edges):
    return [("fc1_if", "fc1_if")] + edges


def external_link_nir(base: Path, d: Path) -> str:
    shutil.copy(base / "model.nir", d / "bad.nir")
    with h5py.File(d / "secret.h5", "w") as fh:
        fh["data"] = np.arange(3)
    with h5py.File(d / "bad.nir", "a") as fh:  # the graph stays readable; the link is what must be refused
        fh["leak"] = h5py.ExternalLink(str(d / "secret.h5"), "/data")
    return "bad.nir"


def external_storage_nir(base: Path, d: Path) -> str:
    shutil.copy(base / "model.nir", d / "bad.nir")
    (d / "raw.bin").write_bytes(np.arange(4, dtype=np.int64).tobytes())
    with h5py.File(d / "bad.nir", "a") as fh:
        fh.create_dataset("raw", shape=(4,), dtype=np.int64, external=[(str(d / "raw.bin"), 0, 32)])
    return "bad.nir"


def huge_nir(base: Path, d: Path) -> str:
    """A valid graph plus a compressed all-zero array of 2**27 values (a few kB on disk)."""
    shutil.copy(base / "model.nir", d / "bad.nir")
    with h5py.File(d / "bad.nir", "a") as fh:
        fh.create_dataset("bomb", shape=(2 ** 27,), dtype=np.int8, compression="gzip", chunks=(2 ** 20,))
    return "bad.nir"


def model_with(base: Path, d: Path, edit: Callable, name: str = "bad.pt") -> str:
    payload = torch.load(base / "model.pt", weights_only=True)
    edit(payload)
    torch.save(payload, d / name)
    return name


def nan_weights(payload):
    key = next(k for k in payload["state_dict"] if k.endswith("weight"))
    payload["state_dict"][key][0, 0] = float("nan")


def profile(d: Path, text: str, name: str = "p.toml") -> str:
    (d / name).write_text(text)
    return name


def npz(d: Path, **arrays) -> str:
    np.savez(d / "d.npz", **arrays)
    return "d.npz"


def images(n: int = 20, value: float = 0.5) -> np.ndarray:
    return np.full((n, 8, 8), value, np.float32)


def labels(n: int = 20) -> np.ndarray:
    return np.arange(n) % 10


def resume_state(base: Path, d: Path, content: Callable[[Path], None]) -> List[str]:
    """A train command resuming from ``out.pt.last.pt`` written by ``content``."""
    content(d / "out.pt.last.pt")
    return ["train", "--data", "digits", "--arch", "FC8-FC10", "--T", "4", "--epochs", "2", "--limit", "32",
            "--device", "cpu", "--resume", "-o", "out.pt"]


def state_from_run(d: Path, arch: str, T: str) -> None:
    """A real resume state from one epoch of ``arch`` at ``T`` (then the model output removed)."""
    result = invoke(["train", "--data", "digits", "--arch", arch, "--T", T, "--epochs", "1", "--limit", "32",
                     "--device", "cpu", "-o", "out.pt"], d)
    assert result.exit_code == 0, result.output
    (d / "out.pt").unlink()
    (d / "out.pt.log.jsonl").unlink()


def idx_files(d: Path, images_bytes: bytes) -> None:
    (d / "t10k-images-idx3-ubyte.gz").write_bytes(images_bytes)
    with gzip.open(d / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + bytes([1, 2]))


def idx_images(n: int = 2) -> bytes:
    return bytes([0, 0, 8, 3]) + b"".join(v.to_bytes(4, "big") for v in (n, 4, 4)) + bytes(16 * n)


RUN = ["run", "model.nir", "--data", "data.npz"]
ENERGY = ["energy", "model.nir", "--data", "data.npz"]
VERIFY = ["verify", "model.nir", "--data", "data.npz", "--no-lava", "--samples", "3"]
TRAIN = ["train", "--data", "digits", "--arch", "FC8-FC10", "--T", "4", "--epochs", "1", "--limit", "32",
         "--device", "cpu"]


class Case(NamedTuple):
    """One row: ``setup(base, folder)`` crafts files in ``folder`` and returns the arguments."""

    name: str
    setup: Callable[[Path, Path], List[str]]
    message: str      #: a regular expression the error line must match
    code: int = 1


def _set(obj, attr: str, value) -> Callable:
    return lambda net: setattr(obj(net), attr, value)


def _item(array: str, index, value) -> Callable:
    return lambda net: getattr(net.layers[0], array).__setitem__(index, value)


#: deployable networks with one field out of range: run, verify and energy must all refuse them
TAMPERED = {
    "T = 1e9": (_set(lambda n: n, "T", 10 ** 9), "T must be an integer in 1..1024"),
    "T = 0": (_set(lambda n: n, "T", 0), "T must be"),
    "T = -3": (_set(lambda n: n, "T", -3), "T must be"),
    "weight beyond 8 bits": (_item("weight", (0, 0), 1000), "8-bit weight preparation"),
    "odd mixed-sign weight": (_item("weight", (0, 0), 3), "8-bit weight preparation"),
    "vth beyond 17 bits": (_set(lambda n: n.layers[1], "vth", 2 ** 17), "vth 131072 outside"),
    "negative vth": (_set(lambda n: n.layers[0], "vth", -5), "vth -5 outside"),
    "bias beyond 13 bits": (_item("bias_mant", 0, 2 ** 13), "bias mantissa outside"),
    "bias exponent 9": (_item("bias_exp", 0, 9), "bias exponent outside"),
    "negative hop delay": (_set(lambda n: n.layers[0], "hop_delay", -1), "hop_delay"),
    "hop delay 7": (_set(lambda n: n.layers[1], "hop_delay", 7), "hop_delay 7"),
    "weight_exp 99": (_set(lambda n: n.layers[0], "weight_exp", 99), "weight_exp 99 outside"),
    "malformed split record": (lambda n: n.layers[0].info.__setitem__("split", {"of": "fc1", "level": "1"}),
                               "info.split must be"),
    "split groups short of the row": (lambda n: n.layers[0].info.__setitem__(
        "split", {"of": "fc1", "level": 1, "groups": 1, "group_size": 1}), "relay groups of 1 do not cover"),
}


def with_nir(make: Callable[[Path, Path], str], command: List[str]) -> Callable[[Path, Path], List[str]]:
    return lambda b, d: [command[0], make(b, d), *command[2:]]


CASES = [
    # outputs that would destroy an input
    Case("compile -o MODEL.pt", lambda b, d: ["compile", "model.pt", "--target", "loihi2", "-o", "model.pt"],
         "-o model.pt is the input model.pt"),
    Case("compile x.nir default output", lambda b, d: (shutil.copy(d / "model.pt", d / "x.nir"),
                                                       ["compile", "x.nir", "--target", "loihi2"])[1],
         "-o x.nir is the input x.nir"),
    Case("compile -o symlink to MODEL", lambda b, d: (os.symlink(d / "model.pt", d / "link.nir"),
                                                      ["compile", "model.pt", "--target", "loihi2", "-o", "link.nir"])[1],
         "is the input model.pt"),
    Case("energy --html MODEL.nir", lambda b, d: [*ENERGY, "--html", "model.nir"], "--html model.nir is the input"),
    Case("run --json MODEL.nir", lambda b, d: [*RUN, "--json", "model.nir"], "--json model.nir is the input"),
    Case("run --json DATA.npz", lambda b, d: [*RUN, "--json", "data.npz"], "--json data.npz is the input"),
    Case("run --json = the data set the NIR file names", lambda b, d: [
        "run", tampered_nir(b, d, lambda n: n.metadata.__setitem__("dataset", "data.npz")), "--json", "data.npz"],
         "the input data.npz is also an output"),
    Case("compile --json = -o", lambda b, d: ["compile", "model.pt", "--target", "loihi2", "-o", "m.nir",
                                              "--json", "m.nir"], "are the same file"),
    Case("compile --float-nir = -o", lambda b, d: ["compile", "model.pt", "--target", "loihi2", "-o", "m.nir",
                                                   "--float-nir", "m.nir"], "are the same file"),
    Case("energy --md = --json", lambda b, d: [*ENERGY, "--json", "r", "--md", "r"], "are the same file"),
    Case("train -o DATA.npz", lambda b, d: ["train", "--data", "data.npz", "--epochs", "1", "-o", "data.npz"],
         "-o data.npz is the input"),
    # outputs that cannot be written: refused before any work
    Case("run --json into /proc", lambda b, d: [*RUN, "--json", "/proc/ttfs/r.json"], "cannot write --json"),
    Case("train -o into /proc", lambda b, d: [*TRAIN, "-o", "/proc/ttfs.pt"], "cannot write"),
    Case("compile -o name too long", lambda b, d: ["compile", "model.pt", "--target", "loihi2", "-o", "n" * 300],
         "longer than"),
    Case("compile -o under a file", lambda b, d: ["compile", "model.pt", "--target", "loihi2", "-o",
                                                  "model.pt/m.nir"], "is a file, not a folder"),
    Case("energy second output unwritable", lambda b, d: [*ENERGY, "--json", "ok.json", "--html",
                                                          "/proc/ttfs/r.html"], "cannot write --html"),
    Case("run --json a folder", lambda b, d: (os.mkdir(d / "sub"), [*RUN, "--json", "sub"])[1], "", 2),
    Case("compile -o ''", lambda b, d: ["compile", "model.pt", "--target", "loihi2", "-o", ""], "-o is empty"),
    Case("demo --out FILE", lambda b, d: ["demo", "--out", "model.pt", "--epochs", "1"], "is a file, not a folder"),
    # NIR graphs that loop, branch or lie
    Case("run: cyclic graph", with_nir(lambda b, d: rewired_nir(b, d, cyclic), RUN), "not one chain"),
    Case("verify: cyclic graph", with_nir(lambda b, d: rewired_nir(b, d, cyclic), VERIFY), "not one chain"),
    Case("run: back edge listed first", with_nir(lambda b, d: rewired_nir(b, d, back_edge_first), RUN),
         "not one chain"),
    *[Case(f"{command[0]}: {name}", with_nir(lambda b, d, e=edit: tampered_nir(b, d, e), command), message)
      for name, (edit, message) in TAMPERED.items() for command in (RUN, VERIFY, ENERGY)],
    Case("energy: placement without cores", with_nir(lambda b, d: tampered_nir(
        b, d, lambda n: setattr(n, "placement", [{"layer": "fc1"}])), ENERGY), "placement must list"),
    Case("run: HDF5 external link", with_nir(external_link_nir, RUN), "ExternalLink .* refused"),
    Case("energy: HDF5 external storage", with_nir(external_storage_nir, ENERGY), "outside the file"),
    Case("run: decompression bomb in the NIR", with_nir(huge_nir, RUN), "134,217,728 values"),
    Case("run: random bytes as NIR", with_nir(lambda b, d: ((d / "x.nir").write_bytes(os.urandom(300)), "x.nir")[1],
                                              RUN), "not a readable NIR file"),
    Case("run: a model as NIR", with_nir(lambda b, d: "model.pt", RUN), "not a readable NIR file"),
    Case("run: truncated NIR", with_nir(lambda b, d: ((d / "x.nir").write_bytes(
        (d / "model.nir").read_bytes()[:2000]), "x.nir")[1], RUN), "not a readable NIR file"),
    # model checkpoints
    Case("compile: NaN weights", lambda b, d: ["compile", model_with(b, d, nan_weights), "--target", "loihi2",
                                               "-o", "m.nir"], "NaN or infinite"),
    Case("compile: random bytes model", lambda b, d: ((d / "r.pt").write_bytes(b"\x00" + os.urandom(500)),
                                                      ["compile", "r.pt", "--target", "loihi2", "-o", "m.nir"])[1],
         "not a torch file"),
    Case("compile: HDF5 as model", lambda b, d: ["compile", "model.nir", "--target", "loihi2", "-o", "m.nir"],
         "is an HDF5 file"),
    Case("compile: empty model", lambda b, d: ((d / "e.pt").write_bytes(b""),
                                               ["compile", "e.pt", "--target", "loihi2", "-o", "m.nir"])[1],
         "is an empty file"),
    Case("compile: truncated model", lambda b, d: ((d / "t.pt").write_bytes((d / "model.pt").read_bytes()[:900]),
                                                   ["compile", "t.pt", "--target", "loihi2", "-o", "m.nir"])[1],
         "corrupt or truncated"),
    Case("compile: T = 1e9 in the config", lambda b, d: [
        "compile", model_with(b, d, lambda p: p["config"].__setitem__("T", 10 ** 9)), "--target", "loihi2",
        "-o", "m.nir"], "T must be 1..1024"),
    Case("compile: state_dict of another arch", lambda b, d: [
        "compile", model_with(b, d, lambda p: p["config"].__setitem__("arch", "FC9-FC10")), "--target", "loihi2",
        "-o", "m.nir"], "does not match its architecture"),
    # resume states
    Case("resume: random bytes", lambda b, d: resume_state(b, d, lambda p: p.write_bytes(b"\x00" + os.urandom(400))),
         "not a torch file"),
    Case("resume: empty", lambda b, d: resume_state(b, d, lambda p: p.write_bytes(b"")), "is an empty file"),
    Case("resume: a model instead", lambda b, d: resume_state(b, d, lambda p: shutil.copy(d / "model.pt", p)),
         "not a ttfs-deploy resume state"),
    Case("resume: truncated", lambda b, d: (state_from_run(d, "FC8-FC10", "4"),
                                            (d / "out.pt.last.pt").write_bytes((d / "out.pt.last.pt").read_bytes()[:700]),
                                            resume_state(b, d, lambda p: None))[2], "corrupt or truncated"),
    Case("resume: another architecture", lambda b, d: (state_from_run(d, "FC12-FC10", "4"),
                                                       resume_state(b, d, lambda p: None))[1],
         "made for another model: arch FC12-FC10"),
    Case("resume: another T", lambda b, d: (state_from_run(d, "FC8-FC10", "6"),
                                            resume_state(b, d, lambda p: None))[1], "made for another model: T 6"),
    # hardware profiles
    Case("profile: threshold 1e12 bits", lambda b, d: ["compile", "model.pt", "--target", profile(
        d, 'extends = "loihi2"\n[bits]\nthreshold = 1000000000000\n'), "-o", "m.nir"], "threshold = 1000000000000"),
    Case("profile: zero cores", lambda b, d: ["compile", "model.pt", "--target", profile(
        d, 'extends = "loihi2"\n[limits]\ncores_per_chip = 0\n'), "-o", "m.nir"], "cores_per_chip = 0"),
    Case("profile: zero memory", lambda b, d: ["compile", "model.pt", "--target", profile(
        d, 'extends = "loihi2"\n[limits]\nsynaptic_memory_bytes_per_core = 0\n'), "-o", "m.nir"], "must be an integer"),
    Case("profile: neurons_per_core -5", lambda b, d: ["compile", "model.pt", "--target", profile(
        d, 'extends = "loihi2"\n[limits]\nneurons_per_core = -5\n'), "-o", "m.nir"], "neurons_per_core = -5"),
    Case("profile: string for a number", lambda b, d: ["compile", "model.pt", "--target", profile(
        d, 'extends = "loihi2"\n[limits]\nchips = "two"\n'), "-o", "m.nir"], "chips = two"),
    Case("profile: array for a number", lambda b, d: ["compile", "model.pt", "--target", profile(
        d, 'extends = "loihi2"\n[bits]\nstate = [24]\n'), "-o", "m.nir"], r"state = \[24\]"),
    Case("profile: extends itself", lambda b, d: ["compile", "model.pt", "--target", profile(
        d, 'extends = "p.toml"\n'), "-o", "m.nir"], "extends itself"),
    Case("profile: loop of two", lambda b, d: (profile(d, 'extends = "p.toml"\n', "q.toml"), [
        "compile", "model.pt", "--target", profile(d, 'extends = "q.toml"\n'), "-o", "m.nir"])[1], "extends itself"),
    Case("profile: binary file", lambda b, d: ((d / "p.toml").write_bytes(os.urandom(200) + b"\xff\xfe"),
                                               ["compile", "model.pt", "--target", "p.toml", "-o", "m.nir"])[1],
         "not valid TOML"),
    Case("energy: negative energy per op", lambda b, d: [*ENERGY, "--profile", profile(
        d, 'extends = "loihi"\n[energy]\nsynaptic_op = -1e-12\n')], "synaptic_op = -1e-12"),
    Case("energy: NaN energy per op", lambda b, d: [*ENERGY, "--json", "r.json", "--profile", profile(
        d, 'extends = "loihi"\n[energy]\nsynaptic_op = nan\n')], "synaptic_op = nan"),
    # data sets
    Case("run: empty .npz", lambda b, d: ((d / "d.npz").write_bytes(b""), [*RUN[:2], "--data", "d.npz"])[1],
         "not a readable .npz"),
    Case("run: .npz not a zip", lambda b, d: ((d / "d.npz").write_bytes(os.urandom(100)),
                                              [*RUN[:2], "--data", "d.npz"])[1], "not a readable .npz"),
    Case("run: .npz of object arrays", lambda b, d: [*RUN[:2], "--data", npz(
        d, x_test=np.array([object()] * 3), y_test=labels(3))], "dtype object"),
    Case("energy: 30 images, 10 labels", lambda b, d: [*ENERGY[:2], "--data", npz(
        d, x_test=images(30), y_test=labels(10))], "30 images and 10 labels"),
    Case("run: label 99", lambda b, d: [*RUN[:2], "--data", npz(
        d, x_test=images(), y_test=np.r_[labels(19), 99])], "label 99, the network has 10 classes"),
    Case("energy: label -1", lambda b, d: [*ENERGY[:2], "--data", npz(
        d, x_test=images(), y_test=np.r_[labels(19), -1])], "negative label -1"),
    Case("run: NaN pixels", lambda b, d: [*RUN[:2], "--data", npz(
        d, x_test=np.r_[images(19), np.full((1, 8, 8), np.nan, np.float32)], y_test=labels())], "finite"),
    Case("train: label 99", lambda b, d: [*TRAIN[:2], npz(d, x_train=images(), y_train=np.r_[labels(19), 99],
                                                          x_test=images(), y_test=labels()), *TRAIN[3:], "-o", "m.pt"],
         "classes are missing"),
    Case("train: NaN pixels", lambda b, d: [*TRAIN[:2], npz(d, x_train=images(value=np.nan), y_train=labels(),
                                                            x_test=images(), y_test=labels()), *TRAIN[3:], "-o", "m.pt"],
         "finite"),
    Case("run: IDX .gz not compressed", lambda b, d: (idx_files(d, idx_images()), [
        "run", "model.nir", "--data", "mnist", "--data-dir", "."])[1], "corrupt or truncated"),
    Case("run: IDX .gz truncated", lambda b, d: (idx_files(d, gzip.compress(idx_images())[:-12]), [
        "run", "model.nir", "--data", "mnist", "--data-dir", "."])[1], "corrupt or truncated"),
    # numbers on the command line: usage errors
    Case("train --lr nan", lambda b, d: [*TRAIN, "--lr", "nan", "-o", "m.pt"], "", 2),
    Case("train --lr -1", lambda b, d: [*TRAIN, "--lr", "-1", "-o", "m.pt"], "", 2),
    Case("train --lr inf", lambda b, d: [*TRAIN, "--lr", "inf", "-o", "m.pt"], "", 2),
    Case("train --init-gain -1", lambda b, d: [*TRAIN, "--init-gain", "-1", "-o", "m.pt"], "", 2),
    Case("train --dropout 1.5", lambda b, d: [*TRAIN, "--dropout", "1.5", "-o", "m.pt"], "", 2),
    Case("train --seed -1", lambda b, d: [*TRAIN, "--seed", "-1", "-o", "m.pt"], "", 2),
    Case("train --device tpu", lambda b, d: [*TRAIN[:-2], "--device", "tpu", "-o", "m.pt"], "unknown device 'tpu'"),
    Case("train --augment-shift 1e6", lambda b, d: [*TRAIN, "--augment-shift", "1000000", "-o", "m.pt"],
         "is not smaller than"),
    Case("train --arch FC1000000000", lambda b, d: [*TRAIN[:4], "FC1000000000", *TRAIN[5:], "-o", "m.pt"],
         "too large"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(case: Case, base: Path, tmp_path: Path):
    for name in ("model.pt", "model.nir", "data.npz"):
        shutil.copy(base / name, tmp_path / name)
    args = case.setup(base, tmp_path)
    before = snapshot(tmp_path)
    result = invoke(args, tmp_path)
    assert result.exit_code == case.code, (result.output, result.exception)
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit))
    if case.code == 1:
        assert ERROR_LINE.match(result.stderr), result.stderr
        assert re.search(case.message, result.stderr), result.stderr
    else:
        assert result.stderr.rstrip().splitlines()[-1].startswith("Error: "), result.stderr
    assert snapshot(tmp_path) == before  # no output, no temp file, every input byte unchanged


# --- outputs: all or none, signals ---------------------------------------------------------------

def test_a_failure_after_the_first_output_removes_it(tmp_path):
    with pytest.raises(TTFSError):
        with command_outputs({"--json": str(tmp_path / "a.json"), "--md": str(tmp_path / "deep" / "b.md")}):
            write_text(str(tmp_path / "a.json"), "{}")
            write_text(str(tmp_path / "deep" / "b.md"), "# b")
            assert not (tmp_path / "a.json").exists()  # staged until the command ends
            raise TTFSError("late failure", "none")
    assert list(tmp_path.iterdir()) == []  # nor the folder it created
    with command_outputs({"--json": str(tmp_path / "a.json")}):
        write_text(str(tmp_path / "a.json"), "1")
        write_text(str(tmp_path / "a.json"), "2")  # a rewrite replaces the staged file
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"] and (tmp_path / "a.json").read_text() == "2"


def test_nan_in_a_report_is_written_as_null(tmp_path):
    import json

    from ttfs_deploy.io_utils import write_json

    write_json(str(tmp_path / "r.json"), {"a": float("nan"), "b": [np.float32("inf"), 1.5]})
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": None, "b": [None, 1.5]}


def _entry(args: List[str], cwd: Path, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "ttfs_deploy", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_entry_point_gives_one_line_and_exit_codes(base, tmp_path):
    proc = _entry(["run", str(base / "model.nir"), "--data", str(tmp_path / "missing.npz")], tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and ERROR_LINE.match(err) and "Traceback" not in out + err, err
    proc = _entry(["train", "--data", "digits", "--lr", "nan", "-o", "m.pt"], tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in err and "--lr" in err


def test_sigterm_during_training_leaves_no_temporary_or_partial_file(tmp_path):
    proc = _entry(TRAIN[:-4] + ["--epochs", "200", "--limit", "200", "--device", "cpu", "-o", "m.pt"], tmp_path)
    deadline = time.time() + 240
    while not (tmp_path / "m.pt.log.jsonl").exists() and time.time() < deadline:  # the first epoch is done
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.splitlines()[-1] == "error: interrupted by SIGTERM" and "Traceback" not in err, err
    left = sorted(p.name for p in tmp_path.iterdir())
    assert not [name for name in left if name.endswith(".tmp")], left
    assert "m.pt" not in left  # the model is written when training ends; the resume state stays
    assert "m.pt.last.pt" in left


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has installed a handler for ``signum`` (``SigCgt`` in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(mask >> (signum - 1) & 1)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay", [0.0, 0.2])
def test_interrupt_at_start_up_is_one_line(tmp_path, signum, delay):
    """From the moment the entry point runs (its SIGTERM handler is in place; before that the
    interpreter itself is starting), an interrupt ends in one line, never a traceback."""
    proc = _entry(["profiles"], tmp_path)
    deadline = time.time() + 60
    while proc.poll() is None and not _catches(proc.pid, signal.SIGTERM) and time.time() < deadline:
        time.sleep(0.001)
    time.sleep(delay)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    # -signum: the signal landed while the interpreter was finalizing after the command had ended
    # (CPython restores the default handlers there); nothing is printed then
    assert "Traceback" not in err and proc.returncode in (0, 128 + signum, -signum), (proc.returncode, err)
    assert proc.returncode in (0, -signum) or err.splitlines() == [f"error: interrupted by {signal.Signals(signum).name}"], err
    assert proc.returncode != -signum or err == "", err


# --- generated corruption --------------------------------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_corrupt_nir_bytes_are_refused_or_read_validly(base, tmp_path, data):
    """Overwrite random byte ranges of a valid NIR file: reading either fails with TTFSError or
    yields a network that passes every check."""
    raw = bytearray((base / "model.nir").read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        chunk = data.draw(st.binary(min_size=1, max_size=16))
        raw[at:at + len(chunk)] = chunk
    raw = raw[:data.draw(st.integers(1, len(raw)))]
    path = tmp_path / "c.nir"
    path.write_bytes(bytes(raw))
    try:
        read_int(str(path)).validate()
    except TTFSError as err:
        assert "\n" not in str(err)


FIELDS = {"vth": st.integers(-2 ** 40, 2 ** 40), "weight_exp": st.integers(-70, 70),
          "hop_delay": st.integers(-5, 5), "T": st.one_of(st.integers(-5, 10 ** 12), st.floats(allow_nan=True))}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(FIELDS)), data=st.data())
def test_corrupt_nir_fields_are_refused_or_valid(base, tmp_path, field, data):
    graph = nir.read(str(base / "model.nir"))
    value = data.draw(FIELDS[field])
    if field == "T":
        graph.metadata["T"] = value
    else:
        node = data.draw(st.sampled_from([n for n, obj in graph.nodes.items() if isinstance(obj, nir.Affine)]))
        graph.nodes[node].metadata[field] = value
    nir.write(str(tmp_path / "f.nir"), graph)
    try:
        net = read_int(str(tmp_path / "f.nir"))
    except TTFSError as err:
        assert "\n" not in str(err)
        return
    net.validate()
    assert 1 <= net.T <= 1024


TOML_VALUES = st.one_of(st.integers(-10, 10 ** 13), st.floats(allow_nan=True, allow_infinity=True),
                        st.text(max_size=5), st.booleans(), st.lists(st.integers(0, 3), max_size=2))
KEYS = {"bits": ["weight_mantissa", "threshold", "bias_mantissa", "bias_exp_max", "state", "synaptic_input",
                 "weight_exp_max"],
        "limits": ["cores_per_chip", "chips", "neurons_per_core", "synaptic_memory_bytes_per_core",
                   "bytes_per_synapse", "input_axons_per_core", "conv_weight_sharing"],
        "energy": ["synaptic_op", "neuron_update_active", "source"], "timing": ["synaptic_op_s"]}


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == float("inf") else "-inf" if value == -float("inf")
                                             else repr(value))
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.sampled_from(sorted(KEYS)), data=st.data(), value=TOML_VALUES)
def test_generated_profiles_are_refused_or_sound(tmp_path, table, data, value):
    key = data.draw(st.sampled_from(KEYS[table]))
    path = tmp_path / "g.toml"
    path.write_text(f'extends = "loihi2"\n[{table}]\n{key} = {_toml(value)}\n')
    try:
        prof = load_profile(str(path))
    except TTFSError as err:
        assert "\n" not in str(err)
        return
    got = getattr(prof, table)[key]
    if table == "bits":
        assert type(got) is int and got <= 24
    elif key == "conv_weight_sharing":
        assert type(got) is bool
    elif table == "limits":
        assert type(got) is int and got >= 1
    elif key != "source":
        assert np.isfinite(got) and got >= 0
