"""Where float (torch) and integer (event simulator) spike times of a direct-input model differ.

    python benchmarks/float_int_gap.py examples/models/fashion_mnist.pt [--samples 2000]

Compiles for loihi2, runs the first N test images through the trained float model and the
compiled network on the event simulator, and prints per chip layer (relays skipped) the
neuron-samples whose first-spike step differs, how many of those fire earlier in the integer
network, and the predictions that disagree.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ttfs_deploy.backends.host import chip_input_times
from ttfs_deploy.backends.registry import run_network
from ttfs_deploy.compile.pipeline import compile_model
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.decision import decode_prediction
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.model.checkpoint import load_checkpoint
from ttfs_deploy.model.network import first_spike_times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--data", default="fashion-mnist")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, _ = load_checkpoint(args.model)
    _, net = compile_model(model, load_profile("loihi2"))
    data = load_dataset(args.data, "test")
    x, y = data.x[:args.samples].reshape(args.samples, -1), data.y[:args.samples]
    integer = run_network(net, chip_input_times(net, x), "eventsim")
    with torch.no_grad():
        batches = [model.run(torch.as_tensor(x[i:i + 500], dtype=torch.float32))[0] for i in range(0, len(x), 500)]
    float_times = [torch.cat([first_spike_times(b[k]) for b in batches]).numpy() for k in range(len(batches[0]))]
    chip_layers = [k for k, layer in enumerate(net.layers) if layer.neuron != "relay"]
    for f, k in zip(float_times[len(float_times) - len(chip_layers):], chip_layers):  # the host layer first
        i = integer.spike_times[k]
        differ = f != i
        earlier = (i >= 0) & ((i < f) | (f < 0))
        print(f"{net.layers[k].name}: {i.shape[1]} neurons, {int(differ.sum())} neuron-samples differ "
              f"({int(differ.any(1).sum())} samples), {int(earlier.sum())} of them earlier in the integer network")
    pred_float = model.predict(torch.as_tensor(x, dtype=torch.float32))[0].numpy()
    pred_int = decode_prediction(integer.spike_times[-1], integer.v_spike, integer.v_final)
    print(f"predictions that differ: {int((pred_float != pred_int).sum())} of {len(y)}; "
          f"accuracy float {np.mean(pred_float == y):.4f}, integer {np.mean(pred_int == y):.4f}")


if __name__ == "__main__":
    main()
