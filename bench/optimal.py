"""Benchmark the closed-form optimum's sampler and the exact top-2 nearest-neighbour search.

    python bench/optimal.py --device cpu    # CPU sizes (N=1,000 at 32x32, 200 samples)
    python bench/optimal.py                 # on the first GPU if there is one: the GPU goals: 10,000 samples vs all 50,000 images (< 10 s on an H100)
                                            # and top-2 for 10,000 x 50,000 (< 1 s)
Prints one line per measurement; needs torch + numpy + the data (EMM_DATA or --root), nothing else.
"""
import argparse, time
import torch
from emm_nb.data import cifar10_subset, load_cifar10
from emm_nb.optimal import OptimalDenoiser
from emm_nb.training import local_device
from emm_nb.sampling import generate
from emm_nb.metrics import ReferenceSet, memorization

def sync(dev):
    if torch.device(dev).type == 'cuda': torch.cuda.synchronize()

def timed(f, dev):
    sync(dev); t = time.perf_counter(); r = f(); sync(dev); return r, time.perf_counter() - t

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default=None, help="'cuda', 'cuda:N' or 'cpu' (default: the first GPU if there is one, else the CPU)")
    p.add_argument('--root', default=None, help='CIFAR-10 folder (default: EMM_DATA)')
    p.add_argument('--n-train', type=int, default=None, help='default: 1,000 on CPU, 50,000 on GPU')
    p.add_argument('--n-samples', type=int, default=None, help='default: 200 on CPU, 10,000 on GPU')
    p.add_argument('--res', type=int, default=32)
    p.add_argument('--batch', type=int, default=None)
    p.add_argument('--dtype', default='float64', choices=['float64', 'float32'])
    p.add_argument('--synthetic', action='store_true', help='random uint8 images instead of CIFAR-10 (timing only, e.g. on a machine without the data)')
    a = p.parse_args()
    a.device = str(local_device(a.device))
    gpu = torch.device(a.device).type == 'cuda'
    n_train = a.n_train or (50_000 if gpu else 1_000)
    n_samples = a.n_samples or (10_000 if gpu else 200)
    batch = a.batch or (10_000 if gpu else 200)
    if gpu: torch.backends.cuda.matmul.allow_tf32 = False
    if a.synthetic:
        import numpy as np
        g = np.random.default_rng(0)
        src = (g.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8), np.repeat(np.arange(10), -(-n_train // 10))[:n_train])
    else: src = load_cifar10(a.root)
    sub = cifar10_subset(n_train, res=a.res, source=src)
    dt = torch.float64 if a.dtype == 'float64' else torch.float32
    print(f"device {a.device} ({torch.cuda.get_device_name() if gpu else 'cpu, %d threads' % torch.get_num_threads()}), "
          f"torch {torch.__version__}, {'synthetic' if a.synthetic else 'CIFAR-10'} N={n_train}, K={n_samples}, {a.res}x{a.res}, optimum in {a.dtype}")
    D = OptimalDenoiser(sub.images, dtype=dt, device=a.device, chunk_b=batch)
    generate(D, range(min(batch, 16)), sub.images.shape[1:], batch_size=batch, device=a.device)   # warm-up
    (samples, _), t = timed(lambda: generate(D, range(n_samples), sub.images.shape[1:], batch_size=batch, device=a.device), a.device)
    print(f"optimum sampling: {n_samples} samples x 35 evaluations in {t:.2f} s = {n_samples / t:.1f} samples/s")
    for prec in ('float64', 'float32'):
        ref = ReferenceSet(sub.images_u8, device=a.device, precision=prec)
        ref.top2(samples[:16])
        (d, i), t = timed(lambda: ref.top2(samples), a.device)
        print(f"top-2 search ({prec}{', exact re-check' if prec == 'float32' else ', exact'}): "
              f"{n_samples} x {n_train} in {t:.3f} s = {n_samples * n_train / t / 1e6:.0f} M pairs/s")
    print(f"memorization ratio of the optimum: {memorization(samples, ref).ratio:.4f}")

if __name__ == '__main__': main()
