"""One command that checks a GPU before the study runs on it, and writes what it measured as ONE JSON file.

    python bench/device_check.py                       # on the GPU machine: about 7 minutes on one H100/H200
    python bench/device_check.py --quick               # tiny sizes on the CPU, well under a minute (a smoke test)
    python bench/device_check.py --data DIR --out X.json

It measures, on one device and in one process:
  1. training of the paper's 35.1M DDPM++ at 32x32, batch 512: fp32 without TF32 (the paper's path), TF32, bf16 autocast,
     bf16 + channels-last, and bf16 + channels-last + torch.compile: images per second and the ratio to fp32; then each
     mode trains 200 steps from the same seed on the same images and noise (at a smaller batch, --loss-batch, so that
     fp32 fits the time), and its loss over the last 10 of those steps stands beside fp32's;
  2. the 10,000-sample evaluation of the 35.1M network: Heun with 18 steps (35 network evaluations) in strict fp32 (the
     Trainer's path), TF32 and bf16 autocast, then the exact top-2 nearest-neighbour search against N = 1,000 and
     50,000 training images; a mode that would not fit the time is timed on its first batches and extrapolated (said so);
  3. the closed-form optimal denoiser (emm_nb.optimal, float64): 10,000 samples against 50,000 training images;
  4. a short run of the `gpu` preset's configuration (emm_nb.study) at N = 500 for a fixed time, with dense snapshots,
     to show its memorization curve rising;
  5. the peak GPU memory of each.
The targets (bf16 >= 4,000 img/s on an H100-class GPU and >= 10x fp32; 10k-sample evaluation <= 45 s; optimum <= 10 s)
are reported as met or unmet. Training images are CIFAR-10 chunks (train_XX.npz) from --data (default $EMM_DATA) when
present, otherwise random uint8 images of the same shape; the JSON says which. Needs only torch, numpy and emm_nb's
core modules (no nbdev, fastcore or papermill).
"""
import argparse, datetime, importlib.util, json, os, platform, re, sys, tempfile, time
T_START = time.perf_counter()   # the time budget counts from here (imports and CUDA start-up included)
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))

import numpy as np
import torch
from emm_nb.data import Subset, load_cifar10, cifar10_subset, resize, DataError
from emm_nb.diffusion import Precond
from emm_nb.metrics import ReferenceSet, memorization
from emm_nb.networks import make_net, count_params
from emm_nb.optimal import OptimalDenoiser
from emm_nb.sampling import generate, heun_sample, to_uint8
from emm_nb.training import TrainConfig, Trainer, _precision
from emm_nb.memeval import MemEval


def _load(name):
    "A module of bench/ by its path (bench/ is not a package)."
    spec = importlib.util.spec_from_file_location(f'bench_{name}', Path(__file__).resolve().parent / f'{name}.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

bench_train, bench_optimal = _load('train'), _load('optimal')   # subset / throughput, timed

TARGETS = dict(bf16_img_per_s=4000., bf16_vs_fp32=10., eval_10k_s=45., optimum_s=10.)
H100_CLASS = ('H100', 'H200', 'GH200', 'B100', 'B200', 'GB200')


# -- machine and data ----------------------------------------------------------------------------------------------
def cpu_model() -> str:
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or 'unknown CPU'

def machine(dev:torch.device) -> dict:
    cuda = dev.type == 'cuda'
    return dict(name=torch.cuda.get_device_name(dev) if cuda else cpu_model(), device=str(dev), host=platform.node(),
                cpu=cpu_model(), cpu_threads=torch.get_num_threads(), torch=torch.__version__, cuda=torch.version.cuda,
                gpu_mem_gib=round(torch.cuda.get_device_properties(dev).total_memory / 2**30, 1) if cuda else None,
                h100_class=cuda and any(k in torch.cuda.get_device_name(dev) for k in H100_CLASS))

def source_images(data:str|None) -> tuple[tuple, str]:
    "CIFAR-10 (images, labels) from `data`, or 50,000 random uint8 images with CIFAR-10's class structure."
    try: return load_cifar10(data), 'cifar10'
    except DataError:
        g = np.random.default_rng(0)
        return (g.integers(0, 256, (50_000, 32, 32, 3), dtype=np.uint8), np.tile(np.arange(10), 5_000)), 'synthetic'

def subset_of(src, n:int, res:int) -> Subset:
    "The paper's first-N/C subset at `res` (box-filtered if Pillow is missing)."
    try: return cifar10_subset(n, res, source=src)
    except ImportError:
        s = cifar10_subset(n, 32, source=src)
        return Subset(resize(s.images_u8, res, 'box'), s.labels, s.n_classes, s.indices, s.true_labels)

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def peak_reset(dev):
    if dev.type == 'cuda': sync(dev); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(dev)

def peak_gib(dev):
    return round(torch.cuda.max_memory_allocated(dev) / 2**30, 2) if dev.type == 'cuda' else None


class Clock:
    "The run's time budget: sections shrink or skip their optional parts when it runs short."
    def __init__(self, budget_s:float): self.t0, self.budget = T_START, budget_s
    def left(self) -> float: return self.budget - (time.perf_counter() - self.t0)
    def elapsed(self) -> float: return time.perf_counter() - self.t0


# -- 1. training ---------------------------------------------------------------------------------------------------
MODES = {   # name: (precision, channels_last, compile)
    'fp32': ('fp32', False, False), 'tf32': ('tf32', False, False), 'bf16': ('bf16', False, False),
    'bf16+channels_last': ('bf16', True, False), 'bf16+channels_last+compile': ('bf16', True, True)}

def loss_run(data, net, batch, precision, channels_last, compile, dev, steps=200, net_kwargs=None) -> dict:
    "Train `steps` steps from seed 0 (same images, order and noise in every mode); per-step losses, read once at the end."
    cfg = TrainConfig(net=net, net_kwargs=net_kwargs or {}, batch=batch, lr=1e-4, lr_warmup_epochs=0, precision=precision,
                      compile=compile, channels_last=channels_last, device=str(dev), eval_samples=0, epochs=1e9)
    tr = Trainer(cfg, data, None, progress=False)
    sums = []
    with _precision(precision):
        t0 = time.perf_counter()
        for _ in range(steps): tr._step(); sums.append(tr.loss_sum.clone())
        s = torch.stack(sums).double().cpu(); dt = time.perf_counter() - t0
    loss = torch.diff(s, prepend=s.new_zeros(1)).numpy()
    return dict(batch=batch, steps=steps, loss_last10=float(loss[-10:].mean()), loss_first10=float(loss[:10].mean()),
                finite=bool(np.isfinite(loss).all()), seconds=dt)

def train_section(a, dev, clock, res, compiled=False) -> dict:
    "Training throughput per mode at the paper's batch; the compiled mode is measured last of all (its compile time is unknown)."
    data = bench_train.subset(a.train_n, a.res)
    out = res['train'] if compiled and 'modes' in res.get('train', {}) else dict(
        net=a.net, res=a.res, batch=a.batch, params=None, data=('cifar10' if data.true_labels.any() else 'random'), modes={})
    for name, (prec, cl, comp) in MODES.items():
        if comp != compiled: continue
        if comp and a.no_compile: out['modes'][name] = dict(skipped='--no-compile'); continue
        if clock.left() < (a.compile_min_s if comp else 20): out['modes'][name] = dict(skipped=f'time budget ({clock.left():.0f} s left)'); continue
        peak_reset(dev)
        steps, warm = (a.fp32_steps, 2) if prec == 'fp32' else (a.steps, 3 if comp else 2)
        try:
            t = bench_train.throughput(data, a.net, a.batch, prec, comp, channels_last=cl, device=str(dev), steps=steps, warmup=warm)
        except Exception as e:
            out['modes'][name] = dict(error=f'{type(e).__name__}: {e}'[:500]); print(f"train {name}: FAILED {e}", flush=True); continue
        out['params'] = out['params'] or sum(p.numel() for p in t['tr'].params)
        m = out['modes'][name] = dict(precision=prec, channels_last=cl, compile=comp, img_per_s=t['img_per_s'], step_ms=t['step_ms'],
                                      warmup_s=t['warmup_s'], timed_steps=steps, peak_mem_gib=peak_gib(dev))
        del t
        print(f"train {name:27s} {m['img_per_s']:8.0f} img/s ({m['step_ms']:.1f} ms/step; warm-up {m['warmup_s']:.1f} s)", flush=True)
    f = out['modes'].get('fp32', {}).get('img_per_s')
    for m in out['modes'].values():
        if 'img_per_s' in m: m['ratio_to_fp32'] = m['img_per_s'] / f if f else None
    return out

def loss_section(a, dev, clock, src, res, compiled=False) -> dict:
    "Each mode of section 1 trains the same 200 steps; the compiled mode (a second compile, at this batch) comes last of all."
    data = bench_train.subset(a.train_n, a.res)
    modes = res.get('train', {}).get('modes', {})
    out = res.get('train_loss') if compiled and 'modes' in res.get('train_loss', {}) else dict(
        batch=a.loss_batch, steps=a.loss_steps, modes={},
        note="each mode from seed 0 on the same images, order and noise; loss_last10 = mean loss of its last 10 steps, "
             "beside fp32's (fp32_loss_last10)")
    for name, (prec, cl, comp) in MODES.items():
        if comp != compiled: continue
        m = modes.get(name, {})
        if 'img_per_s' not in m: out['modes'][name] = dict(skipped=m.get('skipped', 'not measured in section 1')); continue
        est = a.loss_batch * a.loss_steps / max(m['img_per_s'], 1.) * 3 + (m['warmup_s'] * 1.2 + 10 if comp else 5)
        if clock.left() < est: out['modes'][name] = dict(skipped=f'time budget (needs about {est:.0f} s, {clock.left():.0f} s left)'); continue
        peak_reset(dev)
        try: r = out['modes'][name] = {**loss_run(data, a.net, a.loss_batch, prec, cl, comp, dev, a.loss_steps), 'peak_mem_gib': peak_gib(dev)}
        except Exception as e: out['modes'][name] = dict(error=f'{type(e).__name__}: {e}'[:500]); continue
        print(f"loss  {name:27s} {r['loss_last10']:.4f} over the last 10 of {a.loss_steps} steps of batch {a.loss_batch}", flush=True)
    ref = out['modes'].get('fp32', {}).get('loss_last10')
    for name, r in out['modes'].items():
        if 'loss_last10' in r:
            r['fp32_loss_last10'] = ref
            if name in modes: modes[name]['loss_last10'], modes[name]['fp32_loss_last10'] = r['loss_last10'], ref
    return out


# -- 2. evaluation -------------------------------------------------------------------------------------------------
EVAL_MODES = {'fp32': ('fp32', False, False), 'tf32': ('tf32', False, False), 'bf16': ('bf16', True, True)}   # precision, autocast, channels_last

def eval_section(a, dev, clock, src) -> dict:
    "Sampling of K latents by the 35.1M network (35 evaluations each) per precision, then the exact top-2 search."
    peak_reset(dev)
    torch.manual_seed(0)
    kw = dict(img_resolution=a.res) if a.net_kwargs is None else dict(img_resolution=a.res, **a.net_kwargs)
    out = dict(k=a.eval_k, steps=a.eval_steps, nfe=2 * a.eval_steps - 1, batch=a.eval_batch, modes={})
    t0 = time.perf_counter()
    refs = {n: subset_of(src, n, a.res).images_u8 for n in a.ref_ns}
    ev = MemEval(refs[a.ref_ns[0]], a.eval_k, 0, a.eval_steps, a.eval_batch, dev); sync(dev)
    out['latents_s'] = time.perf_counter() - t0
    samples = None
    for name, (prec, ac, cl) in EVAL_MODES.items():
        fmt = torch.channels_last if cl else torch.contiguous_format
        D = Precond(make_net(a.net, **kw).to(dev, memory_format=fmt), 'vp').eval()
        out['params'] = count_params(D.net); D.requires_grad_(False)
        allow = min(a.eval_mode_s, max(clock.left() - a.reserve_s, 0.))
        autocast = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if ac else nullcontext
        got, dt = [], 0.
        with _precision(prec), torch.no_grad():
            with autocast(): heun_sample(D, ev.z[:a.eval_batch].to(memory_format=fmt), None, 1)   # warm-up (cuDNN autotuning): 1 evaluation
            for b in range(0, a.eval_k, a.eval_batch):
                if b and dt + dt / len(got) > allow: break                 # the next batch would not fit: extrapolate
                z = ev.z[b:b + a.eval_batch].to(memory_format=fmt)
                sync(dev); t = time.perf_counter()
                with autocast(): x = to_uint8(heun_sample(D, z, None, a.eval_steps))
                sync(dev); dt += time.perf_counter() - t
                got.append(x)
        k = sum(len(x) for x in got)
        m = out['modes'][name] = dict(precision=prec, autocast_bf16=ac, channels_last=cl, k_measured=k, measured_s=dt,
                                      sample_s=dt * a.eval_k / k, extrapolated=k < a.eval_k,
                                      trainer_path=name == 'fp32')
        if samples is None or k > len(samples): samples = torch.cat(got).cpu()
        print(f"eval  {name:5s} sampling {a.eval_k} x {out['nfe']} evaluations: {m['sample_s']:.1f} s"
              + (f" (extrapolated from {k} samples in {dt:.1f} s)" if m['extrapolated'] else ''), flush=True)
        del D
    if len(samples) < a.eval_k: samples = samples.repeat((a.eval_k + len(samples) - 1) // len(samples), 1, 1, 1)[:a.eval_k]
    out['nn'] = {}
    for n, y in refs.items():
        ref = ReferenceSet(y, dev, precision='float32' if dev.type == 'cuda' else 'float64')
        ref.top2(samples[:16]); sync(dev)
        t = time.perf_counter(); r = memorization(samples, ref); sync(dev)
        out['nn'][str(n)] = dict(seconds=time.perf_counter() - t, ratio=r.ratio)
        print(f"eval  top-2 of {a.eval_k} samples among {n} training images: {out['nn'][str(n)]['seconds']:.2f} s", flush=True)
    nn_max = out['nn'][str(max(refs))]['seconds']
    out['total_s'] = {name: out['latents_s'] + m['sample_s'] + nn_max for name, m in out['modes'].items()}
    out['total_note'] = f"latents + sampling + top-2 among {max(refs)} images"
    out['peak_mem_gib'] = peak_gib(dev)
    return out


# -- 3. the optimum --------------------------------------------------------------------------------------------------
def optimum_section(a, dev, clock, src) -> dict:
    peak_reset(dev)
    sub = subset_of(src, a.opt_n, 32)
    D = OptimalDenoiser(sub.images, dtype=torch.float64, device=dev, chunk_b=a.opt_batch)
    shape = tuple(sub.images.shape[1:])
    generate(D, range(min(a.opt_batch, 16)), shape, batch_size=a.opt_batch, device=dev)      # warm-up
    (x, _), t = bench_optimal.timed(lambda: generate(D, range(a.opt_k), shape, batch_size=a.opt_batch, device=dev), dev)
    r = memorization(x, ReferenceSet(sub.images_u8, dev, precision='float32' if dev.type == 'cuda' else 'float64'))
    print(f"optimum: {a.opt_k} samples x 35 evaluations against {a.opt_n} images in {t:.2f} s (memorization {r.ratio:.3f})", flush=True)
    return dict(k=a.opt_k, n=a.opt_n, dtype='float64', seconds=t, ratio=r.ratio, peak_mem_gib=peak_gib(dev))


# -- 4. a short gpu-preset run -------------------------------------------------------------------------------------
def gpu_run_section(a, dev, clock, src) -> dict:
    "The `gpu` preset's run at N (its full Study.config) for a fixed time, snapshots every `run_snap_steps` steps."
    peak_reset(dev)
    out = dict(n=a.run_n, preset='gpu')
    try:
        from emm_nb.study import Study
        with tempfile.TemporaryDirectory() as tmp: cfg = Study('gpu', tmp, progress=False).config(a.run_n)
        out['config_source'] = 'Study(gpu).config'
    except Exception as e:                                            # the study module mid-change: say so, use the preset's TrainConfig
        from emm_nb.presets import PRESETS
        p = PRESETS['gpu']
        cfg = dict(n=a.run_n, res=p['res'], train=TrainConfig.preset(p['train'], **p['train_kw']).to_dict())
        out['config_source'] = f'TrainConfig of PRESETS[gpu] (Study.config failed: {type(e).__name__}: {e})'[:400]
    t = dict(cfg['train'])
    for k in ('device', 'compile', 'eval_batch', 'log_steps'): t.pop(k, None)
    t.update(a.run_overrides)
    t.update(device=str(dev), log_steps=a.run_snap_steps, snapshot_epochs=a.run_snap_steps * t['batch'] / a.run_n, stop_at=None)
    tc = TrainConfig.from_dict(t)
    data = subset_of(src, a.run_n, cfg['res'])
    out.update(res=cfg['res'], batch=tc.batch, precision=tc.precision, eval_samples=tc.eval_samples, eval_steps=tc.eval_steps,
               snapshot_every_steps=a.run_snap_steps, preset_epochs=tc.epochs, net_kwargs=tc.net_kwargs)
    tr = Trainer(tc, data, None, progress=False)
    out['params'] = sum(p.numel() for p in tr.params)
    run_s = out['run_s'] = min(a.run_s, max(clock.left() - a.reserve_s, a.run_min_s))   # at least run_min_s, whatever the budget
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < run_s and tr.step < tr.total:
        m = tr.run(max_steps=a.run_snap_steps)
        c = m['curve'][-1] if m['curve'] else {}
        print(f"gpu run: step {tr.step}, epoch {tr.step * tc.batch / a.run_n:.0f}, memorization {c.get('mem', float('nan')):.3f}, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    m = tr.metrics()
    curve = [dict(step=c['step'], epoch=c['epoch'], mem=c.get('mem'), eval_s=c.get('eval_s')) for c in m['curve']]
    mems = [c['mem'] for c in curve if c['mem'] is not None]
    out.update(seconds=time.perf_counter() - t0, steps=tr.step, train_s=m['train_s'], img_per_s=m['img_per_s'], curve=curve,
               rising=bool(len(mems) >= 2 and mems[-1] > mems[0]), max_mem=max(mems) if mems else None, peak_mem_gib=peak_gib(dev))
    return out


# -- the command ----------------------------------------------------------------------------------------------------
def targets(res:dict, mach:dict) -> dict:
    "Each target: value, threshold, met (None where it was not measured); `applies` is False off an H100-class GPU."
    def t(value, thr, le=False):
        return dict(value=value, target=thr, met=None if value is None else bool(value <= thr if le else value >= thr), applies=bool(mach['h100_class']))
    tm = res.get('train', {}).get('modes', {})
    bf = {k: v['img_per_s'] for k, v in tm.items() if k.startswith('bf16') and 'img_per_s' in v}
    best = max(bf, key=bf.get) if bf else None
    f = tm.get('fp32', {}).get('img_per_s')
    ev = res.get('eval', {})
    return dict(bf16_img_per_s=dict(**t(bf.get(best), TARGETS['bf16_img_per_s']), mode=best),
                bf16_vs_fp32=dict(**t(bf[best] / f if best and f else None, TARGETS['bf16_vs_fp32']), mode=best),
                eval_10k_s=dict(**t(ev.get('total_s', {}).get('fp32'), TARGETS['eval_10k_s'], le=True), mode='fp32 (the Trainer\'s path)',
                                other_modes=ev.get('total_s')),
                optimum_s=t(res.get('optimum', {}).get('seconds'), TARGETS['optimum_s'], le=True))

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--quick', action='store_true', help='tiny sizes on the CPU (a smoke test, well under a minute)')
    p.add_argument('--out', default=None, help='the JSON (default bench/results/device_check-<date>-<machine>.json)')
    p.add_argument('--data', default=None, help='CIFAR-10 folder of train_XX.npz chunks (default $EMM_DATA); random images if absent')
    p.add_argument('--device', default=None, help='default: cuda if available, else cpu')
    p.add_argument('--budget-s', type=float, default=None, help='time budget of the whole check, from the start of the process (default 440 s; quick 60 s)')
    p.add_argument('--no-compile', action='store_true', help='skip the torch.compile mode')
    p.add_argument('--run-s', type=float, default=None, help='seconds of the gpu-preset run (default 120; at least 90 whatever the budget)')
    p.add_argument('--skip', default='', help='comma-separated sections to leave out: train,eval,optimum,gpu_run,train_loss')
    a = p.parse_args(argv)
    q = a.quick
    a.device = a.device or ('cpu' if q or not torch.cuda.is_available() else 'cuda')
    d = dict(net='ddpmpp', net_kwargs=None, res=32, batch=512, train_n=1000, steps=30, fp32_steps=10, loss_batch=32, loss_steps=200,
             eval_k=10_000, eval_steps=18, eval_batch=1000, eval_mode_s=40., ref_ns=(1000, 50_000), opt_k=10_000, opt_n=50_000,
             opt_batch=10_000, run_n=500, run_s=120., run_min_s=90., run_snap_steps=500, run_overrides={}, reserve_s=20., budget_s=440.,
             compile_min_s=60.)
    if q:
        d.update(net='tiny', res=8, batch=16, train_n=100, steps=2, fp32_steps=2, loss_batch=8, loss_steps=20, eval_k=64, eval_steps=4,
                 eval_batch=32, eval_mode_s=10., ref_ns=(100, 1000), opt_k=16, opt_n=1000, opt_batch=16, run_n=100, run_s=4., run_min_s=2.,
                 run_snap_steps=5, run_overrides=dict(net_kwargs=dict(model_channels=8), batch=16, eval_samples=32, eval_steps=3),
                 reserve_s=0., budget_s=60.)
        a.no_compile = True                                   # torch.compile on a CPU takes minutes
    for k, v in d.items():
        if getattr(a, k, None) is None: setattr(a, k, v)
    if a.data: os.environ['EMM_DATA'] = a.data
    return a

def main(argv=None):
    a = parse(argv)
    dev = torch.device(a.device)
    clock = Clock(a.budget_s)
    mach = machine(dev)
    src, kind = source_images(a.data or os.environ.get('EMM_DATA'))
    res = dict(machine=mach, date=datetime.datetime.now().isoformat(timespec='seconds'), quick=a.quick, budget_s=a.budget_s,
               data=dict(source=kind, dir=a.data or os.environ.get('EMM_DATA'),
                         note='random uint8 images of CIFAR-10 shape: timings hold, memorization figures do not' if kind == 'synthetic' else ''))
    print(json.dumps(dict(machine=mach['name'], device=str(dev), data=kind)), flush=True)
    skip = {s.strip() for s in a.skip.split(',') if s.strip()}
    sections = (('train', lambda: train_section(a, dev, clock, res)),                     # the order is the priority: what the
                ('eval', lambda: eval_section(a, dev, clock, src)),                       # budget may cut comes last
                ('optimum', lambda: optimum_section(a, dev, clock, src)),
                ('train_loss', lambda: loss_section(a, dev, clock, src, res)),
                ('gpu_run', lambda: gpu_run_section(a, dev, clock, src)),
                ('train', lambda: train_section(a, dev, clock, res, compiled=True)),
                ('train_loss', lambda: loss_section(a, dev, clock, src, res, compiled=True)))
    for name, f in sections:
        if name in skip or (name == 'train_loss' and 'train' in skip): res[name] = dict(skipped='--skip'); continue
        t0 = time.perf_counter()
        try: res[name] = f()
        except Exception as e:
            import traceback; traceback.print_exc()
            res[name] = dict(error=f'{type(e).__name__}: {e}'[:1000])
        res[name]['section_s'] = res[name].get('section_s', 0.) + time.perf_counter() - t0
    res['targets'] = targets(res, mach)
    res['wall_s'] = clock.elapsed()
    out = Path(a.out) if a.out else ROOT / 'bench' / 'results' / (
        f"device_check-{datetime.date.today().isoformat()}-{re.sub(r'[^A-Za-z0-9]+', '-', mach['name']).strip('-')[:40]}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=float))
    for k, v in res['targets'].items():
        print(f"target {k}: {v['value'] if v['value'] is None else round(v['value'], 2)} vs {v['target']} -> "
              f"{'n/a' if v['met'] is None else 'met' if v['met'] else 'UNMET'}{'' if v['applies'] else ' (not an H100-class GPU)'}")
    print(f"wrote {out} ({res['wall_s']:.0f} s)", flush=True)
    return res

if __name__ == '__main__': main()
