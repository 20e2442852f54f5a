"""Speed of emm_nb's training loop and memorization evaluation, and an fp32-vs-bf16 check of the memorization answer.

On a GPU (the goals on one H100: >= 4,000 img/s for bf16 training of the 35.1M DDPM++ at 32x32, <= 45 s to evaluate
10,000 samples with 35 network evaluations each plus the nearest-neighbour step):

    python bench/train.py                      # throughput fp32 / tf32 / bf16, bf16 + compile, 10k-sample evaluation
    python bench/train.py --mem-compare        # + one short run trained in fp32 and in bf16: same memorization?
    python bench/train.py --cpu-preset         # the cpu preset's tiny net at 8x8 / 16x16: fp32 vs bf16 autocast

On a CPU, `--quick` runs the same measurements at toy sizes (tiny net, 8x8, few steps, 256 samples) as a smoke test.
Training images come from CIFAR-10 when EMM_DATA points at it, otherwise random images (speed does not depend on
them). Prints one line per measurement and, with --out, writes them as JSON.
"""
import argparse, json, time
import numpy as np
import torch
from emm_nb.data import Subset, DataError, cifar10_subset
from emm_nb.metrics import memorization
from emm_nb.training import TrainConfig, Trainer, MemEval, train, _precision


def subset(n:int, res:int) -> Subset:
    "The first n CIFAR-10 images (class-balanced) at res x res, or random images if CIFAR-10 is not found."
    try: return cifar10_subset(n, res=res, classes=10 if n % 10 == 0 else 8)
    except DataError:
        x = np.random.default_rng(0).integers(0, 256, (n, res, res, 3), dtype=np.uint8)
        return Subset(x, None, 0, np.arange(n), np.zeros(n, dtype=np.int64))


def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)


def throughput(data, net, batch, precision, compile=False, channels_last=True, device=None, steps=20, warmup=5):
    "Training images per second of the loop's step (forward, backward, Adam, EMA) after `warmup` steps."
    cfg = TrainConfig(net=net, batch=batch, lr=1e-4, lr_warmup_epochs=0, precision=precision, compile=compile,
                      channels_last=channels_last, device=device, eval_samples=0, epochs=1e9)
    tr = Trainer(cfg, data, None, progress=False)
    with _precision(precision):
        t0 = time.perf_counter()
        for _ in range(warmup): tr._step()
        tr.loss_sum.item(); warm_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(steps): tr._step()
        loss = tr.loss_sum.item()                    # the only sync
        dt = time.perf_counter() - t0
    assert np.isfinite(loss), f'non-finite loss in {precision}'
    return dict(img_per_s=steps * batch / dt, warmup_s=warm_s, step_ms=1e3 * dt / steps, tr=tr)


def evaluation(tr, ref_data, k, num_steps, batch, precision):
    "Seconds to draw k latents, sample them (2*num_steps-1 evaluations each) and find their two nearest training images."
    dev = tr.device
    t0 = time.perf_counter()
    ev = MemEval(ref_data.images_u8, k, 0, num_steps, batch, dev, tr.cfg.channels_last)
    _sync(dev); setup_s = time.perf_counter() - t0
    with _precision(precision):
        t0 = time.perf_counter(); x = ev.samples(tr.ema, tr.autocast); _sync(dev); sample_s = time.perf_counter() - t0
    t0 = time.perf_counter(); r = memorization(x, ev.ref); _sync(dev); nn_s = time.perf_counter() - t0
    return dict(k=k, nfe=2 * num_steps - 1, ref_n=len(ref_data), setup_s=setup_s, sample_s=sample_s, nn_s=nn_s,
                total_s=setup_s + sample_s + nn_s, ratio=r.ratio)


def mem_compare(net, n, res, epochs, snapshot_epochs, k, batch, lr, device, precond):
    "One short run trained in fp32 and in bf16 (same seed, data order, noise): memorization curves and maxima."
    out = {}
    data = subset(n, res)
    for p in ('fp32', 'bf16'):
        cfg = TrainConfig(net=net, precond=precond, batch=batch, lr=lr, lr_warmup_epochs=10, ema_halflife_img=2000.,
                          ema_ref_batch=None, epochs=epochs, snapshot_epochs=snapshot_epochs, eval_samples=k,
                          eval_batch=min(k, 1000), precision=p, channels_last=True, device=device, log_steps=100)
        t0 = time.perf_counter()
        m = train(cfg, data, None, progress=False)
        out[p] = dict(max_mem=m['max_mem'], curve=[round(c['mem'], 4) for c in m['curve']], seconds=time.perf_counter() - t0,
                      img_per_s=m['img_per_s'])
        print(f"mem-compare {p}: max memorization {m['max_mem']:.4f} (N={n}, {res}x{res}, {net}, {epochs:g} epochs); "
              f"curve {out[p]['curve']}; {out[p]['seconds']:.0f} s", flush=True)
    out['abs_diff'] = abs(out['fp32']['max_mem'] - out['bf16']['max_mem'])
    return out


def cpu_preset(dev, steps, out=None):
    "Training throughput of the cpu preset's runs in fp32 and in bf16 autocast, and their ratio (a machine-noise-proof figure)."
    res = {}
    for r in (8, 16):
        d, ips = subset(80, r), {}
        for pr in ('fp32', 'bf16'):
            ips[pr] = throughput(d, 'tiny', 64, pr, channels_last=False, device=dev, steps=steps, warmup=5)['img_per_s']
        print(f"cpu preset {r:2d}x{r:<2d}: fp32 {ips['fp32']:5.0f} img/s, bf16 {ips['bf16']:5.0f} img/s: bf16 is {ips['bf16'] / ips['fp32']:.2f}x", flush=True)
        res[f'{r}x{r}'] = {**ips, 'ratio': ips['bf16'] / ips['fp32']}
    if out:
        with open(out, 'w') as f: json.dump(res, f, indent=1)
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help='toy sizes for a CPU smoke test')
    p.add_argument('--device', default=None, help="default: cuda if available, else cpu")
    p.add_argument('--batch', type=int, help='training batch (default 256; quick: 64)')
    p.add_argument('--steps', type=int, help='timed training steps (default 30; quick: 10)')
    p.add_argument('--precisions', default='fp32,tf32,bf16')
    p.add_argument('--no-compile', action='store_true', help='skip the torch.compile measurement')
    p.add_argument('--eval-samples', type=int, help='samples of the evaluation benchmark (default 10000; quick: 256)')
    p.add_argument('--eval-batch', type=int, default=2500)
    p.add_argument('--ref-n', type=int, help='training-set size for the nearest-neighbour step (default 50000; quick: 1000)')
    p.add_argument('--mem-compare', action='store_true', help='also train one short run in fp32 and in bf16')
    p.add_argument('--cpu-preset', action='store_true',
                   help="only the cpu preset's runs: tiny net, batch 64, 8x8 and 16x16, fp32 vs bf16 on this machine's threads")
    p.add_argument('--out', help='write the results as JSON here')
    a = p.parse_args(argv)
    dev = torch.device(a.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    q = a.quick
    net, res = ('tiny', 8) if q else ('ddpmpp', 32)
    batch, steps = a.batch or (64 if q else 256), a.steps or (10 if q else 30)
    k, ref_n = a.eval_samples or (256 if q else 10_000), a.ref_n or (1000 if q else 50_000)
    info = dict(device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'cpu ({torch.get_num_threads()} threads)',
                torch=torch.__version__, net=net, res=res, batch=batch)
    print(json.dumps(info), flush=True)
    if a.cpu_preset: return cpu_preset(dev, a.steps or 30, a.out)
    data = subset(1000 if not q else 64, res)
    results, tr_eval = dict(info=info, train={}), None
    runs = [(pr, False) for pr in a.precisions.split(',')] + ([] if a.no_compile else [('bf16', True)])
    for pr, comp in runs:
        t = throughput(data, net, batch, pr, comp, device=dev, steps=steps, warmup=3 if q else 10)
        name = pr + ('+compile' if comp else '')
        print(f"train {name:13s} {t['img_per_s']:9.0f} img/s  ({t['step_ms']:.1f} ms/step, warm-up {t['warmup_s']:.1f} s)", flush=True)
        results['train'][name] = {k_: v for k_, v in t.items() if k_ != 'tr'}
        if pr == 'bf16' and not comp: tr_eval = t['tr']
        del t
    if tr_eval is None: tr_eval = throughput(data, net, batch, 'bf16', device=dev, steps=1, warmup=1)['tr']
    e = evaluation(tr_eval, subset(ref_n, res), k, 18, min(a.eval_batch, k), 'bf16')
    print(f"eval  {e['k']} samples x {e['nfe']} evaluations (bf16) + top-2 NN among {e['ref_n']}: {e['total_s']:.1f} s "
          f"(latents {e['setup_s']:.1f} s, sampling {e['sample_s']:.1f} s, NN {e['nn_s']:.2f} s)", flush=True)
    results['eval'] = e
    if a.mem_compare:
        mc = dict(net='tiny', n=16, res=8, epochs=1600., snapshot_epochs=200., k=256, batch=64, lr=1e-3) if q else \
             dict(net='ddpmpp', n=64, res=8, epochs=2000., snapshot_epochs=250., k=1000, batch=64, lr=1e-3)
        results['mem_compare'] = mem_compare(**mc, device=dev, precond='edm')
    if a.out:
        with open(a.out, 'w') as f: json.dump(results, f, indent=1)
    return results


if __name__ == '__main__': main()
