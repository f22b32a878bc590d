"""Load ttfs-deploy's float NIR graph with Norse and snnTorch; compare first spikes per sample.

Run in a separate venv (these importers are not dependencies of ttfs-deploy):
    python3 -m venv /tmp/interop && /tmp/interop/bin/pip install torch==2.13.0 numpy==1.26.4 nir==1.0.8 \
        nirtorch==2.6 snntorch && /tmp/interop/bin/pip install --no-deps norse
    ttfs-deploy compile demo-out/model.pt --target loihi2 -o /tmp/interop_d.nir --float-nir /tmp/interop_f.nir
    # reference first spikes from the trained model (main venv):
    .venv/bin/python -c "import numpy as np, torch; from ttfs_deploy.model import load_checkpoint; \
from ttfs_deploy.data import load_dataset, encode; from ttfs_deploy.model.network import first_spike_times; \
m, _ = load_checkpoint('demo-out/model.pt'); te = load_dataset('digits', 'test').head(16); \
x = encode(m.config.encoder, te.x, m.config.T); sp, _, _ = m.run(torch.as_tensor(x)); \
np.save('/tmp/interop_times.npy', x); np.save('/tmp/interop_ref.npy', first_spike_times(sp[-1]).numpy())"
    /tmp/interop/bin/python examples/nir_interop.py
"""
import nir, numpy as np, torch
g = nir.read("/tmp/interop_f.nir")
SHAPE = tuple(int(v) for v in g.nodes["input"].input_type["input"])
times = np.load("/tmp/interop_times.npy"); ref = np.load("/tmp/interop_ref.npy"); T = 16
def run(net, sample, stateful):
    r = torch.zeros(T, times.shape[1]); j = np.nonzero(sample >= 0)[0]; r[sample[j], j] = 1
    state, outs = None, []
    for t in range(T):
        o = net(r[t].view(*SHAPE), state) if stateful else net(r[t].view(*SHAPE))
        if isinstance(o, tuple): o, state = o
        outs.append(o.detach().flatten())
    out = torch.stack(outs)
    return torch.where(out.any(0), (out > 0).float().argmax(0), torch.full_like(out[0], -1).long()).numpy(), int((out > 0).sum())
for name in ("norse", "snntorch"):
    try:
        if name == "norse":
            from norse.torch.utils.import_nir import from_nir; net = from_nir(g)
        else:
            import snntorch.import_nir as imp; net = imp.import_from_nir(g)
        res = [run(net, s, True) for s in times]
        first = np.stack([r[0] for r in res])
        print(name, "imports; first output spikes identical on", int((first == ref).all(1).sum()), "of", len(ref), "samples; output spikes per sample (max)", max(r[1] for r in res))
    except Exception as e:
        print(name, "fails:", type(e).__name__, str(e)[:200])
