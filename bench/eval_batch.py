"""The sampler's batch on a CPU: how long the memorization evaluation of one snapshot takes (256 samples, 18 Heun
steps, strict fp32, the cpu preset's tiny net) when the samples go through the network 256, 128, 64 or 32 at a time,
and whether the samples are the same.

    OMP_NUM_THREADS=1 python bench/eval_batch.py              # one process, 8x8 and 16x16
    OMP_NUM_THREADS=1 python bench/eval_batch.py --procs 2    # two processes side by side, as the study's two workers

The network is freshly initialised (the time does not depend on its weights). Batches are timed in interleaved rounds;
the line per resolution gives the median seconds per evaluation, the ratio to batch 256, and whether every batch
gave bit-identical samples. The cpu preset's `eval_batch` comes from this measurement.
"""
import argparse, statistics, time
import multiprocessing as mp
import numpy as np
import torch
from emm_nb.trainconfig import TrainConfig
from emm_nb.training import Trainer, _precision
from emm_nb.data import Subset
from emm_nb.memeval import MemEval


def measure(res:int, batches:tuple, rounds:int, k:int=256) -> dict:
    "Median seconds of one evaluation per batch size, and whether the samples agree bit for bit."
    torch.set_num_threads(1)
    x = np.random.default_rng(0).integers(0, 256, (50, res, res, 3), dtype=np.uint8)
    data = Subset(x, None, 0, np.arange(50), np.zeros(50, dtype=np.int64))
    ema = Trainer(TrainConfig(net='tiny', eval_samples=0, device='cpu'), data, None, progress=False).ema
    evs = {b: MemEval(x, k, 0, 18, b) for b in batches}
    times, ref, same = {b: [] for b in batches}, None, True
    with _precision('fp32'):
        for _ in range(rounds):
            for b in batches:
                t = time.perf_counter(); s = evs[b].samples(ema); times[b].append(time.perf_counter() - t)
                if ref is None: ref = s
                same &= torch.equal(s, ref)
    return dict(res=res, median={b: statistics.median(v) for b, v in times.items()}, identical=same)


def _worker(args): return measure(*args)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--procs', type=int, default=1, help='processes measuring side by side (the study runs one per core)')
    p.add_argument('--rounds', type=int, default=3, help='interleaved rounds over the batch sizes')
    p.add_argument('--batches', default='256,128,64,32')
    a = p.parse_args(argv)
    batches = tuple(int(b) for b in a.batches.split(','))
    for res in (8, 16):
        with mp.get_context('spawn').Pool(a.procs) as pool: rs = pool.map(_worker, [(res, batches, a.rounds)] * a.procs)
        for i, r in enumerate(rs):
            base = r['median'][batches[0]]
            row = ', '.join(f"{b}: {t:.2f} s ({t / base:.2f}x)" for b, t in r['median'].items())
            print(f"{res}x{res}, process {i + 1}/{a.procs}: seconds per 256-sample evaluation by batch: {row}; "
                  f"samples bit-identical across batches: {r['identical']}")


if __name__ == '__main__': main()
