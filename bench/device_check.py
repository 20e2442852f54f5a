"""The GPU check: one command that proves a GPU before the study runs on it, writing each figure as it is measured.

    python bench/device_check.py --out DIR          # on a GPU machine (its first GPU): under 8 minutes on one H100/H200
    python bench/device_check.py --quick --out DIR  # tiny sizes on the CPU: a smoke test of every section
    bash tools/gpu_check.sh                         # the same, prepared for a GPU machine where only torch is installed

DIR/device_check.json is rewritten atomically after every figure, so a check that is killed keeps what it measured:
`done` lists the finished sections, `running` the one in progress. Every section runs under its own deadline
(--deadline SECTION=SECONDS; the defaults add up to 7.6 minutes); one that reaches it is stopped where it is
(a torch.compile too), keeps its figures and says `deadline`. The sections, the most important first:
  train       the paper's 35.1M DDPM++ at 32x32, batch 512: images per second in fp32 without TF32 (the paper's path),
              TF32, bf16 autocast and bf16 + channels-last, each with its ratio to fp32;
  eval        the 10,000-sample evaluation of that network: Heun with 18 steps (35 evaluations) in strict fp32 (the
              Trainer's path), TF32 and bf16, a mode that would not fit its share of the deadline timed on its first
              batches and extrapolated (said so); then the exact top-2 search against 1,000 and 50,000 training images;
  optimum     the closed-form optimal denoiser (float64): 10,000 samples against 50,000 training images;
  train_loss  each training mode trains the same 200 steps from seed 0 at batch 32; its loss over the last 10 beside fp32's;
  gpu_run     one run of the `gpu` preset end to end as the runner trains it: `Study('gpu').config` at N = 500 with a
              shortened budget (--run-epochs), `emm_nb.study.train_run` into a run cache, then read back from the cache;
  packed      the gpu preset's training by k = 1, 2, 4 processes at once on the one GPU (as a pool that repeats a device
              packs runs): all their images per second, and the speed-up against one;
  compile     bf16 + channels-last + torch.compile: training throughput (compile time apart) and the 200-step loss;
and peak GPU memory in each. The targets (bf16 >= 4,000 img/s on an H100-class GPU and >= 10x fp32; the 10k-sample
evaluation <= 45 s; the optimum <= 10 s) are judged at the end.

Training images: the CIFAR-10 chunks (train_XX.npz) in --data (default $EMM_DATA), all ten or only some: one chunk
(5,000 images) holds every class-balanced subset the check trains on, and a set larger than the data (the 50,000-image
references) is topped up with random images (timings do not depend on the pixels; the JSON says how many are real).
Without any CIFAR-10, one synthetic chunk of random images stands in. Needs torch, numpy and emm_nb's core modules;
gpu_run also needs emm_nb.study.
"""
import argparse, datetime, importlib.util, json, os, platform, re, signal, subprocess, sys, tempfile, time, traceback
T_START = time.perf_counter()
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))

import numpy as np
import torch
from emm_nb.cache import write_json
from emm_nb.data import Subset, load_cifar10, cifar10_subset, resize, to_float, DataError
from emm_nb.diffusion import Precond
from emm_nb.metrics import ReferenceSet, memorization
from emm_nb.networks import make_net
from emm_nb.optimal import OptimalDenoiser
from emm_nb.sampling import generate, heun_sample, to_uint8
from emm_nb.training import TrainConfig, Trainer, _precision, local_device
from emm_nb.memeval import MemEval
from emm_nb.presets import get_preset
from emm_nb.executors import cpu_threads


def _load(name):
    "A module of bench/ by its path (bench/ is not a package)."
    spec = importlib.util.spec_from_file_location(f'bench_{name}', Path(__file__).resolve().parent / f'{name}.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

bench_train, bench_optimal = _load('train'), _load('optimal')   # throughput, timed

TARGETS = dict(bf16_img_per_s=4000., bf16_vs_fp32=10., eval_10k_s=45., optimum_s=10.)
H100_CLASS = ('H100', 'H200', 'GH200', 'B100', 'B200', 'GB200')
DEADLINES = dict(train=70., eval=105., optimum=40., train_loss=35., gpu_run=70., packed=75., compile=60.)   # seconds: 455 in all


# -- the record and the deadlines ------------------------------------------------------------------------------------
class Record:
    "The check's JSON: a dict of sections, written atomically (`emm_nb.cache.write_json`) whenever a figure is added."
    def __init__(self, path, head:dict): self.path, self.d = Path(path), dict(head, done=[], running=None); self.save()
    def section(self, name:str) -> dict: return self.d.setdefault(name, {})
    def save(self): write_json(self.path, self.d)

class SectionDeadline(BaseException):
    "A section ran out of time (a BaseException, so that no `except Exception` of a section swallows it)."

class Deadline:
    "A section's deadline: SIGALRM stops whatever runs once `seconds` have passed (None: no deadline); `left()` for sections that plan."
    def __init__(self, seconds:float|None): self.seconds = seconds
    def __enter__(self):
        self.t0, self.old = time.perf_counter(), signal.signal(signal.SIGALRM, self._expire)
        if self.seconds is not None: signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self
    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0); signal.signal(signal.SIGALRM, self.old)
    def _expire(self, *_): raise SectionDeadline(f'stopped at its {self.seconds:g} s deadline')
    def left(self) -> float: return float('inf') if self.seconds is None else self.seconds - (time.perf_counter() - self.t0)


# -- machine and data ----------------------------------------------------------------------------------------------
def cpu_model() -> str:
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or 'unknown CPU'

def machine(dev:torch.device) -> dict:
    cuda = dev.type == 'cuda'
    return dict(name=torch.cuda.get_device_name(dev) if cuda else cpu_model(), device=str(dev), host=platform.node(),
                cpu=cpu_model(), cpu_threads=torch.get_num_threads(), python=platform.python_version(), torch=torch.__version__,
                cuda=torch.version.cuda, gpu_mem_gib=round(torch.cuda.get_device_properties(dev).total_memory / 2**30, 1) if cuda else None,
                h100_class=cuda and any(k in torch.cuda.get_device_name(dev) for k in H100_CLASS))

def synthetic(n:int, seed:int=0) -> tuple:
    "n random uint8 images of CIFAR-10's shape with its class structure (labels 0..9 interleaved)."
    g = np.random.default_rng(seed)
    return g.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.tile(np.arange(10), -(-n // 10))[:n].astype(np.int64)

def source_images(data:str|None, spare:Path) -> tuple[tuple, dict]:
    "CIFAR-10's training images in `data` (every chunk there), else one synthetic chunk written to `spare` (then $EMM_DATA)."
    try: src, note = load_cifar10(data), ''
    except DataError as e:
        src, note = synthetic(5_000), f'random uint8 images of CIFAR-10 shape (timings hold, memorization figures do not): {e}'
        np.savez(spare / 'train_00.npz', images=src[0], labels=src[1])
        data = str(spare)
    os.environ['EMM_DATA'] = str(Path(data).absolute())             # the study's runs read the same images
    n = len(src[0])
    kind = 'synthetic' if note else 'cifar10' if n == 50_000 else f'cifar10, {n} of 50,000 images'
    return src, dict(source=kind, dir=os.environ['EMM_DATA'], n_images=n, note=note)

def _at(images:np.ndarray, res:int) -> np.ndarray:
    "Images at res x res (Lanczos, or box-filtered where Pillow is missing)."
    try: return resize(images, res)
    except ImportError: return resize(images, res, 'box')

def subset_of(src, n:int, res:int) -> tuple[Subset, bool]:
    "The paper's first-N/C subset at `res`, of random images where the data hold too few of a class; and whether it is of the data."
    try: s, real = cifar10_subset(n, 32, source=src), True
    except DataError: s, real = cifar10_subset(n, 32, source=synthetic(n)), False
    return Subset(_at(s.images_u8, res), s.labels, s.n_classes, s.indices, s.true_labels), real

def images_of(src, n:int, res:int) -> tuple[np.ndarray, int]:
    "The first `n` images at `res`, topped up with random images where the data hold fewer; and how many are real."
    x = src[0][:n]
    if len(x) < n: x = np.concatenate([x, synthetic(n - len(x), seed=1)[0]])
    return _at(x, res), min(n, len(src[0]))

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def peak_reset(dev):
    if dev.type == 'cuda': sync(dev); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(dev)

def peak_gib(dev):
    return round(torch.cuda.max_memory_allocated(dev) / 2**30, 2) if dev.type == 'cuda' else None


# -- 1. training ---------------------------------------------------------------------------------------------------
MODES = {   # name: (precision, channels_last, compile)
    'fp32': ('fp32', False, False), 'tf32': ('tf32', False, False), 'bf16': ('bf16', False, False),
    'bf16+channels_last': ('bf16', True, False), 'bf16+channels_last+compile': ('bf16', True, True)}
COMPILED = 'bf16+channels_last+compile'

def throughput(a, dev, data, name:str) -> dict:
    "One mode's training images per second at the paper's batch (its first steps, compile included, apart)."
    prec, cl, comp = MODES[name]
    peak_reset(dev)
    steps = a.fp32_steps if prec == 'fp32' else a.steps
    t = bench_train.throughput(data, a.net, a.batch, prec, comp, channels_last=cl, device=str(dev), steps=steps, warmup=3 if comp else 2)
    params = sum(p.numel() for p in t['tr'].params)
    return dict(precision=prec, channels_last=cl, compile=comp, img_per_s=t['img_per_s'], step_ms=t['step_ms'],
                warmup_s=t['warmup_s'], timed_steps=steps, params=params, peak_mem_gib=peak_gib(dev))

def train_section(a, dev, src, out, rec, dl):
    "Training throughput per mode (fp32 first: every ratio is to it); each mode is saved as soon as it is measured."
    data, real = subset_of(src, a.train_n, a.res)
    out.update(net=a.net, res=a.res, batch=a.batch, data='the check\'s data' if real else 'random images', modes={})
    for name in MODES:
        if name == COMPILED: continue
        try: m = out['modes'][name] = throughput(a, dev, data, name)
        except Exception as e:
            out['modes'][name] = dict(error=f'{type(e).__name__}: {e}'[:500]); print(f"train {name}: FAILED {e}", flush=True); rec.save(); continue
        f = out['modes'].get('fp32', {}).get('img_per_s')
        m['ratio_to_fp32'] = m['img_per_s'] / f if f else None
        rec.save()
        print(f"train {name:27s} {m['img_per_s']:8.0f} img/s ({m['step_ms']:.1f} ms/step; first steps {m['warmup_s']:.1f} s)", flush=True)

def loss_run(data, net, batch, precision, channels_last, compile, dev, steps=200) -> dict:
    "Train `steps` steps from seed 0 (same images, order and noise in every mode); per-step losses, read once at the end."
    cfg = TrainConfig(net=net, batch=batch, lr=1e-4, lr_warmup_epochs=0, precision=precision, compile=compile,
                      channels_last=channels_last, device=str(dev), eval_samples=0, epochs=1e9)
    tr = Trainer(cfg, data, None, progress=False)
    sums = []
    with _precision(precision):
        t0 = time.perf_counter()
        for _ in range(steps): tr._step(); sums.append(tr.loss_sum.clone())
        s = torch.stack(sums).double().cpu(); dt = time.perf_counter() - t0
    loss = torch.diff(s, prepend=s.new_zeros(1)).numpy()
    return dict(batch=batch, steps=steps, loss_last10=float(loss[-10:].mean()), loss_first10=float(loss[:10].mean()),
                finite=bool(np.isfinite(loss).all()), seconds=dt)

def loss_of(a, dev, data, name:str, fp32_loss:float|None) -> dict:
    "One mode's 200-step loss run, beside fp32's."
    prec, cl, comp = MODES[name]
    peak_reset(dev)
    r = loss_run(data, a.net, a.loss_batch, prec, cl, comp, dev, a.loss_steps)
    r.update(peak_mem_gib=peak_gib(dev), fp32_loss_last10=r['loss_last10'] if name == 'fp32' else fp32_loss)
    print(f"loss  {name:27s} {r['loss_last10']:.4f} over the last 10 of {a.loss_steps} steps of batch {a.loss_batch}", flush=True)
    return r

def loss_section(a, dev, src, out, rec, dl):
    "Each mode that section `train` measured trains the same steps; the loss of its last 10 beside fp32's."
    out.update(batch=a.loss_batch, steps=a.loss_steps, modes={}, note="each mode from seed 0 on the same images, order "
               "and noise; loss_last10 = mean loss of its last 10 steps, beside fp32's (fp32_loss_last10)")
    measured, data = rec.d.get('train', {}).get('modes', {}), subset_of(src, a.train_n, a.res)[0]
    for name in MODES:
        if name == COMPILED: continue
        if 'img_per_s' not in measured.get(name, {}): out['modes'][name] = dict(skipped='not measured in section train'); continue
        try: out['modes'][name] = loss_of(a, dev, data, name, out['modes'].get('fp32', {}).get('loss_last10'))
        except Exception as e: out['modes'][name] = dict(error=f'{type(e).__name__}: {e}'[:500])
        rec.save()

def compile_section(a, dev, src, out, rec, dl):
    "The compiled mode, last of all: its compile time is unknown; the deadline stops it wherever it is."
    if a.no_compile: out['skipped'] = '--no-compile'; return
    data = subset_of(src, a.train_n, a.res)[0]
    out.update(throughput(a, dev, data, COMPILED))
    f = rec.d.get('train', {}).get('modes', {}).get('fp32', {}).get('img_per_s')
    out['ratio_to_fp32'] = out['img_per_s'] / f if f else None
    rec.save()
    print(f"train {COMPILED:27s} {out['img_per_s']:8.0f} img/s (compile and first steps {out['warmup_s']:.1f} s)", flush=True)
    out['loss'] = loss_of(a, dev, data, COMPILED, rec.d.get('train_loss', {}).get('modes', {}).get('fp32', {}).get('loss_last10'))


# -- 2. evaluation -------------------------------------------------------------------------------------------------
EVAL_MODES = {'fp32': ('fp32', False, False), 'tf32': ('tf32', False, False), 'bf16': ('bf16', True, True)}   # precision, autocast, channels_last

def sample_mode(a, dev, ev, name:str, allow:float) -> tuple[dict, torch.Tensor]:
    "Sample the K latents with the 35.1M network in one precision, batch by batch until `allow` seconds would be passed."
    prec, ac, cl = EVAL_MODES[name]
    fmt = torch.channels_last if cl else torch.contiguous_format
    kw = dict(img_resolution=a.res) if a.net_kwargs is None else dict(img_resolution=a.res, **a.net_kwargs)
    D = Precond(make_net(a.net, **kw).to(dev, memory_format=fmt), 'vp').eval().requires_grad_(False)
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
    m = dict(precision=prec, autocast_bf16=ac, channels_last=cl, k_measured=k, measured_s=dt, sample_s=dt * a.eval_k / k,
             extrapolated=k < a.eval_k, trainer_path=name == 'fp32', params=sum(p.numel() for p in D.net.parameters()))
    print(f"eval  {name:5s} sampling {a.eval_k} x {2 * a.eval_steps - 1} evaluations: {m['sample_s']:.1f} s"
          + (f" (extrapolated from {k} samples in {dt:.1f} s)" if m['extrapolated'] else ''), flush=True)
    return m, torch.cat(got).cpu()

def eval_section(a, dev, src, out, rec, dl):
    "Sampling of K latents by the 35.1M network (35 evaluations each) per precision, then the exact top-2 search."
    peak_reset(dev)
    torch.manual_seed(0)
    out.update(k=a.eval_k, steps=a.eval_steps, nfe=2 * a.eval_steps - 1, batch=a.eval_batch, modes={}, nn={})
    t0 = time.perf_counter()
    refs = {n: images_of(src, n, a.res) for n in a.ref_ns}
    ev = MemEval(refs[a.ref_ns[0]][0], a.eval_k, 0, a.eval_steps, a.eval_batch, dev); sync(dev)
    out['latents_s'] = time.perf_counter() - t0
    samples = None
    for i, name in enumerate(EVAL_MODES):
        allow = min(a.eval_mode_s, (dl.left() - a.nn_reserve_s) / (len(EVAL_MODES) - i))
        m, x = sample_mode(a, dev, ev, name, allow)
        out['modes'][name] = m; out['params'] = m.pop('params')
        if samples is None or len(x) > len(samples): samples = x
        rec.save()
    if len(samples) < a.eval_k: samples = samples.repeat((a.eval_k + len(samples) - 1) // len(samples), 1, 1, 1)[:a.eval_k]
    for n, (y, real) in refs.items():
        ref = ReferenceSet(y, dev, precision='float32' if dev.type == 'cuda' else 'float64')
        ref.top2(samples[:16]); sync(dev)
        t = time.perf_counter(); r = memorization(samples, ref); sync(dev)
        out['nn'][str(n)] = dict(seconds=time.perf_counter() - t, ratio=r.ratio, n_real=real)
        rec.save()
        print(f"eval  top-2 of {a.eval_k} samples among {n} training images ({real} real): {out['nn'][str(n)]['seconds']:.2f} s", flush=True)
    nn_max = out['nn'][str(max(refs))]['seconds']
    out['total_s'] = {name: out['latents_s'] + m['sample_s'] + nn_max for name, m in out['modes'].items()}
    out['total_note'] = f"latents + sampling + top-2 among {max(refs)} images"
    out['peak_mem_gib'] = peak_gib(dev)


# -- 3. the optimum --------------------------------------------------------------------------------------------------
def optimum_section(a, dev, src, out, rec, dl):
    "The closed-form optimum (float64): K samples against N training images, and their memorization ratio (1 by construction)."
    peak_reset(dev)
    y, real = images_of(src, a.opt_n, 32)
    out.update(k=a.opt_k, n=a.opt_n, n_real=real, dtype='float64')
    D = OptimalDenoiser(to_float(y), dtype=torch.float64, device=dev, chunk_b=a.opt_batch)
    shape = (3, 32, 32)
    generate(D, range(min(a.opt_batch, 16)), shape, batch_size=a.opt_batch, device=dev)      # warm-up
    (x, _), t = bench_optimal.timed(lambda: generate(D, range(a.opt_k), shape, batch_size=a.opt_batch, device=dev), dev)
    r = memorization(x, ReferenceSet(y, dev, precision='float32' if dev.type == 'cuda' else 'float64'))
    out.update(seconds=t, ratio=r.ratio, peak_mem_gib=peak_gib(dev))
    print(f"optimum: {a.opt_k} samples x 35 evaluations against {a.opt_n} images ({real} real) in {t:.2f} s (memorization {r.ratio:.3f})", flush=True)


# -- 4. one gpu-preset run, end to end ------------------------------------------------------------------------------
def gpu_run_section(a, dev, src, out, rec, dl):
    "A `gpu`-preset run as the runner trains it: its configuration from `Study`, trained by `train_run` into a run cache, read back."
    from emm_nb.study import Study, run_settings, train_run         # the study layer (fastcore until study.py drops it)
    with tempfile.TemporaryDirectory(prefix='emm_gpu_run_') as tmp:
        cache = Path(a.cache or tmp)
        cfg = Study('gpu', cache, progress=False).config(a.run_n, res=a.run_res, epochs=a.run_epochs,
                                                        snapshot_epochs=a.run_snapshot_epochs, **a.run_overrides)
        settings = run_settings('gpu')
        out.update(preset='gpu', n=a.run_n, res=cfg['res'], epochs=a.run_epochs, snapshot_epochs=a.run_snapshot_epochs,
                   batch=cfg['train']['batch'], precision=cfg['train']['precision'], net_kwargs=cfg['train']['net_kwargs'],
                   eval_samples=cfg['train']['eval_samples'], settings=settings, cache=str(cache))
        rec.save()
        peak_reset(dev)
        t0 = time.perf_counter(); r = train_run(cfg, cache, str(dev), settings); run_s = time.perf_counter() - t0
        t0 = time.perf_counter(); again = train_run(cfg, cache, str(dev), settings); cached_s = time.perf_counter() - t0
        mems = [c['mem'] for c in r['curve'] if c.get('mem') is not None]
        out.update(seconds=run_s, train_s=r['train_s'], img_per_s=r['img_per_s'], params=r['params'], ratio=r['ratio'],
                   curve=r['curve'], stopped_early=r['stopped_early'], rising=bool(len(mems) >= 2 and mems[-1] > mems[0]),
                   from_cache_s=cached_s, from_cache_same=again == r, peak_mem_gib=peak_gib(dev))
    print(f"gpu run: N = {a.run_n} at {out['res']}x{out['res']}, {a.run_epochs:g} epochs in {run_s:.0f} s ({r['img_per_s']:.0f} img/s), "
          f"memorization {' '.join(f'{m:.2f}' for m in mems)}; read back from the cache in {cached_s:.2f} s", flush=True)



# -- 5. packed runs: k trainings of the gpu preset on one GPU at once ----------------------------------------------------
def pack_worker(spec:dict):
    "One packed process: the gpu preset's training step on the shared device; ready after its first steps, timed from the go."
    torch.set_num_threads(spec['threads'])
    p = get_preset('gpu')
    cfg = TrainConfig.preset(p['train'], **{**p['train_kw'], **spec['overrides'], 'device': spec['device'], 'eval_samples': 0, 'epochs': 1e9})
    with np.load(spec['data']) as z: x, y = z['images'], z['labels']
    tr = Trainer(cfg, Subset(x, None, 0, np.arange(len(x)), y), None, progress=False)     # unconditional, as the preset
    dev = tr.device
    with _precision(cfg.precision):
        for _ in range(3): tr._step()
        sync(dev); Path(spec['ready']).touch()
        while not Path(spec['go']).exists(): time.sleep(0.01)
        start = time.time()                                                     # wall clock: shared by the processes
        for _ in range(spec['steps']): tr._step()
        sync(dev); end = time.time()
    print(json.dumps(dict(start=start, end=end, images=spec['steps'] * cfg.batch, peak_mem_gib=peak_gib(dev))), flush=True)

def packed(a, dev, k:int, tmp:Path) -> dict:
    "k processes (as the pool's workers) train at once on `dev`, each timed from a common go: all their images over the window."
    threads = cpu_threads([str(dev)] * k)                                       # as the pool shares out the cores
    specs = [dict(device=str(dev), data=str(tmp / 'subset.npz'), steps=a.pack_steps, threads=threads,
                  overrides=a.pack_overrides, ready=str(tmp / f'ready-{k}-{i}'), go=str(tmp / f'go-{k}')) for i in range(k)]
    procs = [subprocess.Popen([sys.executable, __file__, '--pack-worker', json.dumps(sp)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, 'OMP_NUM_THREADS': str(threads)}) for sp in specs]
    try:
        while not all(Path(sp['ready']).exists() for sp in specs):              # every process built and warm
            if any(p.poll() is not None for p in procs): raise RuntimeError(f'a packed process ended early (codes {[p.poll() for p in procs]})')
            time.sleep(0.05)
        Path(specs[0]['go']).touch()
        rs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None: p.kill()
    window = max(r['end'] for r in rs) - min(r['start'] for r in rs)
    return dict(k=k, img_per_s=sum(r['images'] for r in rs) / window, per_run_img_per_s=[r['images'] / (r['end'] - r['start']) for r in rs],
                window_s=window, peak_mem_gib_each=[r['peak_mem_gib'] for r in rs])

def packed_section(a, dev, src, out, rec, dl):
    "The gpu preset's training on one device by 1, 2, 4 processes at once (the pool with a repeated device): summed img/s."
    out.update(n=a.run_n, res=a.run_res, steps_each=a.pack_steps, overrides=a.pack_overrides, ks={},
               note="img_per_s: all processes' images over the window until the last one ends; speed-up against k = 1")
    with tempfile.TemporaryDirectory(prefix='emm_packed_') as tmp:
        s = subset_of(src, a.run_n, a.run_res)[0]
        np.savez(Path(tmp) / 'subset.npz', images=s.images_u8, labels=s.true_labels)     # the training set of every process
        for k in a.pack_ks:
            r = out['ks'][str(k)] = packed(a, dev, k, Path(tmp))
            r['speedup'] = r['img_per_s'] / out['ks'][str(a.pack_ks[0])]['img_per_s']
            rec.save()
            print(f"packed {k} run(s) of the gpu preset on {dev}: {r['img_per_s']:.0f} img/s in all ({r['speedup']:.2f}x one)", flush=True)


SECTIONS = dict(train=train_section, eval=eval_section, optimum=optimum_section, train_loss=loss_section, gpu_run=gpu_run_section,
                packed=packed_section, compile=compile_section)   # in this order: what a short deadline costs comes last

# -- the command ----------------------------------------------------------------------------------------------------
def targets(res:dict, mach:dict) -> dict:
    "Each target: value, threshold, met (None where it was not measured); `applies` is False off an H100-class GPU."
    def t(value, thr, le=False):
        return dict(value=value, target=thr, met=None if value is None else bool(value <= thr if le else value >= thr), applies=bool(mach['h100_class']))
    tm = {**res.get('train', {}).get('modes', {}), COMPILED: res.get('compile', {})}
    bf = {k: v['img_per_s'] for k, v in tm.items() if k.startswith('bf16') and 'img_per_s' in v}
    best = max(bf, key=bf.get) if bf else None
    f = tm.get('fp32', {}).get('img_per_s')
    ev = res.get('eval', {})
    return dict(bf16_img_per_s=dict(**t(bf.get(best), TARGETS['bf16_img_per_s']), mode=best),
                bf16_vs_fp32=dict(**t(bf[best] / f if best and f else None, TARGETS['bf16_vs_fp32']), mode=best),
                eval_10k_s=dict(**t(ev.get('total_s', {}).get('fp32'), TARGETS['eval_10k_s'], le=True), mode='fp32 (the Trainer\'s path)',
                                other_modes=ev.get('total_s')),
                optimum_s=t(res.get('optimum', {}).get('seconds'), TARGETS['optimum_s'], le=True))

def deadlines(spec:str, quick:bool) -> dict:
    "Each section's deadline in seconds: the defaults (quick: none, tiny sizes end however loaded the CPU), then SECTION=SECONDS,..."
    d = dict.fromkeys(SECTIONS) if quick else dict(DEADLINES)
    for item in filter(None, (s.strip() for s in spec.split(','))):
        k, _, v = item.partition('=')
        if k not in d: raise SystemExit(f"--deadline: unknown section {k!r} (sections: {', '.join(SECTIONS)})")
        d[k] = float(v)
    return d

def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--quick', action='store_true', help='tiny sizes on the CPU (a smoke test of every section)')
    p.add_argument('--out', default=None, help='folder of device_check.json (default bench/results/<date>-<machine>/)')
    p.add_argument('--data', default=None, help='CIFAR-10 folder of train_XX.npz chunks (default $EMM_DATA); one synthetic chunk if absent')
    p.add_argument('--device', default=None, help="'cuda' (this process's GPU), 'cuda:N', 'cpu' (default: the first GPU if there is one; quick: cpu)")
    p.add_argument('--deadline', default='', help=f"SECTION=SECONDS,... (defaults {', '.join(f'{k}={v:g}' for k, v in DEADLINES.items())})")
    p.add_argument('--no-compile', action='store_true', help='skip the torch.compile section')
    p.add_argument('--run-epochs', type=float, default=None, help='epochs of the gpu-preset run (default 300 at N = 500: 586 steps, 3 snapshots)')
    p.add_argument('--cache', default=None, help='run cache of the gpu-preset run (default: a temporary folder, removed)')
    p.add_argument('--skip', default='', help=f"comma-separated sections to leave out: {','.join(SECTIONS)}")
    a = p.parse_args(argv)
    q = a.quick
    a.device = a.device or ('cpu' if q else None)
    a.deadlines = deadlines(a.deadline, q)
    d = dict(net='ddpmpp', net_kwargs=None, res=32, batch=512, train_n=1000, steps=30, fp32_steps=10, loss_batch=32, loss_steps=200,
             eval_k=10_000, eval_steps=18, eval_batch=1000, eval_mode_s=30., nn_reserve_s=10., ref_ns=(1000, 50_000), opt_k=10_000,
             opt_n=50_000, opt_batch=10_000, run_n=500, run_res=16, run_epochs=300., run_snapshot_epochs=100., run_overrides={},
             pack_ks=(1, 2, 4), pack_steps=200, pack_overrides={})
    if q:
        d.update(net='tiny', res=8, batch=16, train_n=100, steps=2, fp32_steps=2, loss_batch=8, loss_steps=12, eval_k=64, eval_steps=4,
                 eval_batch=32, eval_mode_s=float('inf'), nn_reserve_s=0., ref_ns=(100, 1000), opt_k=16, opt_n=1000, opt_batch=16, run_n=100,
                 run_res=8, run_epochs=4., run_snapshot_epochs=2.,
                 run_overrides=dict(net_kwargs=dict(model_channels=8), batch=16, eval_samples=32, eval_steps=3),
                 pack_ks=(1, 2), pack_steps=3, pack_overrides=dict(net_kwargs=dict(model_channels=8), batch=16))
        a.no_compile = True                                   # torch.compile on a CPU takes minutes
    for k, v in d.items():
        if getattr(a, k, None) is None: setattr(a, k, v)
    return a

def run_sections(a, dev, src, rec, sections=SECTIONS):
    "Each section in turn under its own deadline; its figures, error or deadline are in the record as they come."
    skip = {s.strip() for s in a.skip.split(',') if s.strip()}
    for name, fn in sections.items():
        out = rec.section(name)
        if name in skip: out['skipped'] = '--skip'; continue
        rec.d['running'] = name; rec.save()
        t0 = time.perf_counter()
        try:
            with Deadline(a.deadlines[name]) as dl: fn(a, dev, src, out, rec, dl)
        except SectionDeadline as e: out['deadline'] = str(e); print(f"{name}: {e}", flush=True)
        except Exception as e: traceback.print_exc(); out['error'] = f'{type(e).__name__}: {e}'[:1000]
        out.update(section_s=time.perf_counter() - t0, deadline_s=a.deadlines[name])
        rec.d['done'].append(name); rec.d['running'] = None; rec.save()

def main(argv=None):
    a = parse(argv)
    dev = local_device(a.device)
    mach = machine(dev)
    out = Path(a.out) if a.out else ROOT / 'bench' / 'results' / (
        f"{datetime.date.today().isoformat()}-{re.sub(r'[^A-Za-z0-9]+', '-', mach['name']).strip('-')[:40]}")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='emm_check_data_') as spare:
        src, data = source_images(a.data or os.environ.get('EMM_DATA'), Path(spare))
        rec = Record(out / 'device_check.json', dict(machine=mach, date=datetime.datetime.now().isoformat(timespec='seconds'),
                                                     quick=a.quick, data=data, deadlines=a.deadlines, argv=sys.argv[1:]))
        print(f"device check on {mach['name']} ({dev}): python {mach['python']}, torch {mach['torch']} (CUDA {mach['cuda']}), "
              f"numpy {np.__version__}; data: {data['source']}; writing {rec.path}", flush=True)
        run_sections(a, dev, src, rec)
    rec.d['targets'] = targets(rec.d, mach)
    rec.d['wall_s'] = time.perf_counter() - T_START
    rec.save()
    for k, v in rec.d['targets'].items():
        print(f"target {k}: {v['value'] if v['value'] is None else round(v['value'], 2)} vs {v['target']} -> "
              f"{'n/a' if v['met'] is None else 'met' if v['met'] else 'UNMET'}{'' if v['applies'] else ' (not an H100-class GPU)'}")
    print(f"wrote {rec.path} ({rec.d['wall_s']:.0f} s)", flush=True)
    return rec.d

if __name__ == '__main__':
    if sys.argv[1:2] == ['--pack-worker']: pack_worker(json.loads(sys.argv[2]))
    else: main()
