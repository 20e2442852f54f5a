"""Speed of emm_nb's training loop and memorization evaluation, and an fp32-vs-bf16 check of the memorization answer.

On a GPU (the goals on one H100: >= 4,000 img/s for bf16 training of the 35.1M DDPM++ at 32x32, <= 45 s to evaluate
10,000 samples with 35 network evaluations each plus the nearest-neighbour step):

    python bench/train.py                      # throughput fp32 / tf32 / bf16, bf16 + compile, 10k-sample evaluation
    python bench/train.py --mem-compare        # + one short run trained in fp32 and in bf16: same memorization?
    OMP_NUM_THREADS=1 python bench/train.py --cpu-preset   # the cpu preset's tiny net at 8x8 / 16x16: today's config vs the new one

On a CPU, `--quick` runs the same measurements at toy sizes (tiny net, 8x8, few steps, 256 samples) as a smoke test.
Training images come from CIFAR-10 when EMM_DATA points at it, otherwise random images (speed does not depend on
them). Prints one line per measurement and, with --out, writes them as JSON.
"""
import argparse, json, time
import numpy as np
import torch
from emm_nb.data import Subset, DataError, cifar10_subset
from emm_nb.metrics import memorization
from emm_nb.training import TrainConfig, Trainer, train, _precision, local_device
from emm_nb.memeval import MemEval


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


# -- the cpu preset: today's configuration vs the recommended one ------------------------------------------------------
# MONKEYPATCH (bench only, off by default: measured 1.03x, not worth a package knob): `--bf16-weights` runs the new
# configuration's network in bf16 weights and activations (no per-op autocast casts); Adam and the EMA keep fp32 master weights.
def bf16_weights(tr:Trainer) -> Trainer:
    "Switch a built Trainer to a bf16 copy of its network with fp32 master weights in Adam and the EMA."
    import copy, contextlib
    net_bf = copy.deepcopy(tr.net).to(torch.bfloat16)
    tr.net_bf, tr.bf_params = net_bf, list(net_bf.parameters())
    tr.model, tr.autocast = net_bf, contextlib.nullcontext
    step = tr.opt.step
    def opt_step():
        for p, q in zip(tr.params, tr.bf_params): p.grad = q.grad.float(); q.grad = None
        step()
        with torch.no_grad(): torch._foreach_copy_(tr.bf_params, tr.params)
    tr.opt.step = opt_step
    return tr


def _cpu_trainer(d, dev, batch, lr, precision, bf16w=False):
    cfg = TrainConfig.preset('tiny', precond='edm', batch=batch, lr=lr, precision=precision, channels_last=False, device=dev,
                             eval_samples=0, epochs=1e9)
    tr = Trainer(cfg, d, None, progress=False)
    return bf16_weights(tr) if bf16w else tr


def _timed(tr, n_img):
    "Images per second of enough steps for about n_img images (one host sync at the end)."
    steps = max(2, round(n_img / tr.cfg.batch))
    with _precision(tr.cfg.precision):
        t0 = time.perf_counter()
        for _ in range(steps): tr._step()
        loss = tr.loss_sum.item()
        dt = time.perf_counter() - t0
    assert np.isfinite(loss), 'non-finite loss'
    return steps * tr.cfg.batch / dt


def cpu_preset(dev, steps, out=None, reps=5, new_batch=128, new_lr=2e-3, new_bf16w=False):
    """Training throughput of today's cpu preset (tiny net, batch 64, lr 1e-3, bf16 autocast where the CPU has native bf16,
    else fp32) and of the recommended configuration, interleaved A/B/A/B in this process, and the median of the per-pair
    speed-up ratios (a machine-noise-proof figure). Run it with OMP_NUM_THREADS=1 for the per-core figure."""
    from emm_nb.presets import native_cpu_bf16
    import statistics
    prec = 'bf16' if native_cpu_bf16() else 'fp32'
    res = dict(threads=torch.get_num_threads(), today=dict(batch=64, lr=1e-3, precision=prec),
               new=dict(batch=new_batch, lr=new_lr, precision=prec, bf16_weights=new_bf16w and prec == 'bf16'))
    n_img = steps * 64
    for r in (8, 16):
        d = subset(80, r)
        A = _cpu_trainer(d, dev, 64, 1e-3, prec)
        B = _cpu_trainer(d, dev, new_batch, new_lr, prec, bf16w=res['new']['bf16_weights'])
        for tr in (A, B): _timed(tr, 4 * tr.cfg.batch)                   # warm-up
        a, b = [], []
        for _ in range(reps): a.append(_timed(A, n_img)); b.append(_timed(B, n_img))
        ratio = statistics.median(y / x for x, y in zip(a, b))
        print(f"cpu preset {r:2d}x{r:<2d} ({torch.get_num_threads()} thread(s), {reps} A/B pairs): today (batch 64, {prec}) "
              f"{statistics.median(a):5.0f} img/s, new (batch {new_batch}, lr {new_lr:g}, {prec}{' weights' if res['new']['bf16_weights'] else ''}) "
              f"{statistics.median(b):5.0f} img/s: new is {ratio:.2f}x", flush=True)
        res[f'{r}x{r}'] = dict(today=a, new=b, ratio=ratio)
    if out:
        with open(out, 'w') as f: json.dump(res, f, indent=1)
    return res


def profile(dev, steps=20, res=8, top=12):
    "Where a step of today's cpu preset spends its time (torch.profiler, self CPU time per op): the floor behind the speed."
    from emm_nb.presets import native_cpu_bf16
    tr = _cpu_trainer(subset(80, res), dev, 64, 1e-3, 'bf16' if native_cpu_bf16() else 'fp32')
    _timed(tr, 4 * 64)                                                      # warm-up
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof: _timed(tr, steps * 64)
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=top), flush=True)
    return prof


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help='toy sizes for a CPU smoke test')
    p.add_argument('--device', default=None, help="'cuda' (this process's GPU), 'cuda:N' or 'cpu' (default: the first GPU if there is one)")
    p.add_argument('--batch', type=int, help='training batch (default 256; quick: 64)')
    p.add_argument('--steps', type=int, help='timed training steps (default 30; quick: 10)')
    p.add_argument('--precisions', default='fp32,tf32,bf16')
    p.add_argument('--no-compile', action='store_true', help='skip the torch.compile measurement')
    p.add_argument('--eval-samples', type=int, help='samples of the evaluation benchmark (default 10000; quick: 256)')
    p.add_argument('--eval-batch', type=int, default=2500)
    p.add_argument('--ref-n', type=int, help='training-set size for the nearest-neighbour step (default 50000; quick: 1000)')
    p.add_argument('--mem-compare', action='store_true', help='also train one short run in fp32 and in bf16')
    p.add_argument('--cpu-preset', action='store_true',
                   help="only the cpu preset's runs (tiny net, 8x8 and 16x16): today's configuration vs the recommended one, "
                        "interleaved; run with OMP_NUM_THREADS=1 for the per-core figure")
    p.add_argument('--reps', type=int, default=5, help='--cpu-preset: A/B pairs per resolution')
    p.add_argument("--new-batch", type=int, default=128, help='--cpu-preset: batch of the recommended configuration')
    p.add_argument("--new-lr", type=float, default=2e-3, help='--cpu-preset: lr of the new configuration (does not change its speed)')
    p.add_argument('--bf16-weights', action='store_true', help='--cpu-preset: the new configuration runs bf16 weights (monkeypatch) instead of autocast')
    p.add_argument('--profile', action='store_true', help="--cpu-preset: also print the top ops of today's 8x8 step")
    p.add_argument('--out', help='write the results as JSON here')
    a = p.parse_args(argv)
    dev = local_device(a.device)                     # None: the first GPU if there is one (or LOCAL_RANK's), else the CPU
    q = a.quick
    net, res = ('tiny', 8) if q or a.cpu_preset else ('ddpmpp', 32)
    batch, steps = a.batch or (64 if q or a.cpu_preset else 256), a.steps or (10 if q else 30)
    k, ref_n = a.eval_samples or (256 if q else 10_000), a.ref_n or (1000 if q else 50_000)
    info = dict(device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'cpu ({torch.get_num_threads()} threads)',
                torch=torch.__version__, net=net, res=res, batch=batch)
    print(json.dumps(info), flush=True)
    if a.cpu_preset:
        r = cpu_preset(dev, a.steps or 30, a.out, a.reps, a.new_batch, a.new_lr, a.bf16_weights)
        if a.profile: profile(dev, a.steps or 20)
        return r
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
