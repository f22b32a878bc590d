"""Where float (torch) and integer (event simulator) spike times of a direct-input Fashion-MNIST model differ.

    python benchmarks/float_int_gap.py examples/models/fashion_mnist.pt [N]

Compiles for loihi2, runs the first N test images (default 2000) through both, and prints per chip
layer the neuron-samples whose first-spike step differs, how many of those fire earlier in the
integer network, and the predictions that disagree.
"""
import sys, numpy as np, torch
from ttfs_deploy.model.checkpoint import load_checkpoint
from ttfs_deploy.compile.pipeline import compile_model
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.backends.host import chip_input_times
from ttfs_deploy.backends.registry import run_network
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.decision import decode_prediction
torch.set_num_threads(1)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
model, _ = load_checkpoint(sys.argv[1]); model.eval()
_, net = compile_model(model, load_profile("loihi2"))
data = load_dataset("fashion-mnist", "test")
x, y = data.x[:N], data.y[:N]
res = run_network(net, chip_input_times(net, x.reshape(len(x), -1)), "eventsim")
chip = [l for l in net.layers]
with torch.no_grad():
    spikes = []
    for i in range(0, N, 500):
        s, v, vs = model.run(torch.as_tensor(x[i:i+500].reshape(len(x[i:i+500]), -1), dtype=torch.float32))
        spikes.append([r for r in s])
T = model.config.T
def first(r):  # (T,B,...) -> (B,n) first spike step or -1
    r = r.reshape(T, r.shape[1], -1).numpy() > 0
    any_ = r.any(0); return np.where(any_, r.argmax(0), -1)
float_times = [np.concatenate([first(b[l]) for b in spikes]) for l in range(len(spikes[0]))]
names = [l.name for l in net.layers]
print("chip layers", names, "float layers", len(float_times))
fl = float_times[1:]  # host conv1 excluded
int_layers = [k for k, l in enumerate(net.layers) if not l.name.endswith(("_relay1", "_relay2"))]
for f, k in zip(fl, int_layers):
    it = res.spike_times[k]
    diff = (f != it)
    print(names[k], "neurons", it.shape[1], "mismatched neuron-samples", int(diff.sum()), "samples with any", int(diff.any(1).sum()),
          "earlier in int", int(((it < f) & (it >= 0) | ((it >= 0) & (f < 0))).sum()))
pred_f = model.predict(torch.as_tensor(x.reshape(N, -1), dtype=torch.float32))[0].numpy()
pred_i = decode_prediction(res.spike_times[-1], res.v_spike, res.v_final)
print("pred disagree", int((pred_f != pred_i).sum()), "float acc", (pred_f == y).mean(), "int acc", (pred_i == y).mean())
