"""The GPU path proven on the CPU before a GPU run: every training run that the experiment notebooks request under the
`gpu` and `paper` presets, enumerated without training, then checked.

How: each experiment notebook's code is executed in this process (its parameters cell, then the runner's parameters,
as papermill would inject them) while `Study._train` (the one function a run's result comes from) is replaced by a
recorder that notes the canonical run config (`Study.config`'s output, as the run cache gets it) and returns a
plausible made-up result: a ratio that falls with N, K samples, a rising curve. CIFAR-10 is replaced by random images
of the same shape and class structure (50,000 of 10 classes), so nothing is read from disk and no run trains.

Every distinct run config is then checked: `TrainConfig.check` against a stand-in training set of the run's N,
resolution and labels; every distinct network (the `UNet.config` the Trainer would build) is built on the meta device
(parameter count, compared with the paper's counts) and runs its training forward there at batch 2 with the run's
preconditioning and loss (shapes and FLOPs of the full-size graph); and each one runs one real training step and one evaluation
(`Trainer._snapshot`: the MemEval sampler with 2 Heun steps = 3 network evaluations, and the memorization ratio) at
batch 2 on the CPU: at full size where that is cheap (every network of the `gpu` preset, the paper's 35.1M DDPM++ and
35.8M NCSN++, every 8x8 and 16x16 network), otherwise as a thin twin (the same network with 1/8 of the channels:
same layout, skips, attention, labels, preconditioning and precision). `EMM_GPU_CHECK_FULL=1` runs every network at
full size (about 15 minutes on one CPU thread); `EMM_GPU_CONFIGS_OUT=file.json` writes the enumerated runs there.

Asserted beyond "it runs": attention at the same relative level at every resolution, evaluation sampling outside
bf16 autocast (training inside it where the preset asks for bf16), the per-step EMA decay of the batch study
independent of the batch, the paper's parameter counts, and the coverage the study needs (NCSN++/VE skips, EMA,
batch and weight-decay grids, random and unique labels, all three resolutions).
"""
import contextlib, copy, json, math, os, time, warnings
from pathlib import Path
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault('MPLBACKEND', 'Agg')

import emm_nb.study as S
from emm_nb.experiments import plan, plan_params, planned_configs
from emm_nb.runner import EXPERIMENTS, notebook
from emm_nb.cache import canonical_json
from emm_nb.data import Subset, make_labels
from emm_nb.diffusion import Precond, DenoisingLoss
from emm_nb.networks import NET_CONFIGS, make_net, count_params
from emm_nb.training import TrainConfig, Trainer, ema_decay_at

PRESETS = ('gpu', 'paper')
FULL = os.environ.get('EMM_GPU_CHECK_FULL', '') not in ('', '0')
THIN = 8   # thin twins: model_channels // THIN

# the paper's parameter counts (millions) of unconditional 32x32 networks with every skip:
# (arch, embedding, model_channels, num_blocks) -> M
PAPER_M = {('ddpmpp', 'positional', 128, 2): 35.1, ('ddpmpp', 'positional', 192, 2): 79.0,
           ('ddpmpp', 'positional', 256, 2): 140.4, ('ddpmpp', 'positional', 320, 2): 219.3,
           ('ddpmpp', 'positional', 128, 4): 55.7, ('ddpmpp', 'positional', 128, 6): 76.3,
           ('ddpmpp', 'positional', 128, 8): 96.9, ('ddpmpp', 'positional', 128, 10): 117.6,
           ('ddpmpp', 'positional', 128, 12): 138.2, ('ncsnpp', 'fourier', 128, 2): 35.8}


# -- enumeration ---------------------------------------------------------------------------------------------------
_SOURCE = {}

def synthetic_cifar10():
    "Random uint8 images [50000,32,32,3] with CIFAR-10's class structure (10 classes of 5,000, interleaved)."
    if 'x' not in _SOURCE:
        g = np.random.default_rng(0)
        _SOURCE['x'] = (g.integers(0, 256, (50_000, 32, 32, 3), dtype=np.uint8), np.tile(np.arange(10), 5_000).astype(np.int64))
    return _SOURCE['x']

def _paper_m_key(c:dict):
    return (c['arch'], c['embedding'], c['model_channels'], c['num_blocks'])

def labels_of(cfg:dict):
    "(labels, n_classes) a run's training set gets, from its config alone (no images)."
    if 'mix' in cfg: return None, 0
    n, cls = cfg['n'], cfg['classes']
    cl = list(range(cls)) if isinstance(cls, int) else list(cls)
    true = np.repeat(cl, n // len(cl))                     # balanced, as `balanced_indices` (order does not matter here)
    return make_labels(cfg['labels'], true, cfg['label_classes'], cfg['label_seed'])

class StandIn:
    "A stand-in training set: the N, resolution and labels of a run, no images (enough for `TrainConfig.check`)."
    def __init__(self, cfg:dict):
        self.n, self.res = cfg['n'], cfg['res']
        self.labels, self.n_classes = labels_of(cfg)
        self.images_u8 = np.zeros((1, self.res, self.res, 3), np.uint8)   # CIFAR-10's channels (the shape is all the checks read)
    def __len__(self): return self.n

def net_kwargs(cfg:dict) -> dict:
    "The keyword arguments of `make_net` for a run, as `Trainer` builds them."
    _, c = labels_of(cfg)
    return dict(img_resolution=cfg['res'], label_dim=c, **cfg['train']['net_kwargs'])

_META = {}
def meta_net(name:str, kw:dict):
    "The network of a run built on the meta device (cached): its resolved config and parameter count."
    key = name + canonical_json(kw)
    if key not in _META:
        with torch.device('meta'): net = make_net(name, **kw)
        _META[key] = dict(config=json.loads(canonical_json(net.config)), params=count_params(net))
    return _META[key]

def fake_result(cfg:dict) -> dict:
    "A plausible run result: the ratio falls with N (later at lower resolution and with labels), a rising curve."
    n, res, t = cfg['n'], cfg['res'], cfg['train']
    n0 = 2000. * (32 / res) * (1.5 if cfg['labels'] != 'none' else 1.)
    k = t['eval_samples']
    ratio = round(k / (1 + (n / n0) ** 3)) / k
    epochs = t['epochs']; snap = t['snapshot_epochs'] or 2_500_000 / n
    m = max(1, min(10, len(snap) if isinstance(snap, list) else int(epochs // snap)))
    curve = [dict(epoch=epochs * (i + 1) / m, mem=ratio * (i + 1) / m) for i in range(m)]
    return dict(ratio=ratio, k=k, max_mem_epoch=epochs, final_mem=ratio, curve=curve, train_s=1., img_per_s=1.,
                params=meta_net(t['net'], net_kwargs(cfg))['params'], stopped_early=False)

def notebook_cells(nb:Path) -> tuple[list, list]:
    "The code of a notebook's parameters cell and of its other code cells."
    cells = [c for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
    src = lambda c: ''.join(c['source'])
    params = [src(c) for c in cells if 'parameters' in c.get('metadata', {}).get('tags', [])]
    return params, [src(c) for c in cells if 'parameters' not in c.get('metadata', {}).get('tags', [])]

def fake_gap(study, r, held, n_noise=4):
    "Stand-in for `emm_nb.beyond.run_gap` (the recorder trains nothing, so there is no network to measure)."
    rows = [dict(sigma=s, gap=0.01, lo=0.009, hi=0.011, excess=0., rmse=1., rmse_lo=.9, rmse_hi=1.1, rel_nn=.1, rel_nn_lo=.09, rel_nn_hi=.11,
                 same=.5, same_lo=.4, same_hi=.6, nn=40.) for s in (80., 3., 0.6, 0.3, 0.14, 0.002)]
    return dict(n=r['n'], train=rows, held=rows)

def fake_els(study, r, calibration=16, samples=100, boundary='border', criterion='cosine'):
    "Stand-in for `emm_nb.beyond.run_els` (the fields of `els_compare`, four seeds)."
    sched, ms = dict(sigmas=[80., 1., 0.002], sizes=[15, 5, 1]), ('net', 'opt', 'els', 'ls')
    return dict(n=r['n'], k=samples, boundary=boundary, criterion=criterion, mem=dict(net=.5, opt=1., els=.2, ls=.5),
                nearest={m: [0, 1, 2, 3] for m in ms}, copy={m: [True, False, True, False] for m in ms},
                r={m: [.1, .2, .3, .4] for m in ('els', 'ls', 'opt')}, r2={m: [.1, .2, .3, .4] for m in ('els', 'ls', 'opt')},
                schedule_els=sched, schedule_ls=sched)

def run_notebook_recording(factor:str, preset:str, out:Path) -> list[dict]:
    "Execute an experiment notebook in this process at `preset` with training replaced by the recorder; the runs it requested."
    import matplotlib.pyplot as plt
    nb = notebook(factor)
    params, cells = notebook_cells(nb)
    inject = f"preset = {preset!r}\nout_dir = {str(out)!r}\ncache_dir = {str(out / 'runs')!r}\ndevice = 'cpu'\n"
    recorded = []
    def record(cfg, run_dir, **kw):
        recorded.append(cfg); return fake_result(cfg)
    ns = {'__name__': '__main__'}
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter('ignore')
        mp.setattr(S, 'fit_run', record)
        mp.setattr(S, '_cifar10', lambda root=None: synthetic_cifar10())
        mp.setattr('emm_nb.beyond.run_gap', fake_gap); mp.setattr('emm_nb.beyond.run_els', fake_els)
        mp.setattr(S.Study, 'held_out', lambda self, n, res=None: [None] * n)
        with open(os.devnull, 'w') as quiet, contextlib.redirect_stdout(quiet):
            for i, code in enumerate([*params, inject, *cells]):
                exec(compile(code, f'{nb.name}[cell {i}]', 'exec'), ns)
        plt.close('all')
    assert (out / 'results.json').exists(), f"{factor} at {preset}: no results.json"
    return recorded


@pytest.fixture(scope='module')
def requests(tmp_path_factory) -> dict:
    "{preset: {factor: [run config, ...]}}: every run each experiment notebook requests (each notebook with its own cache)."
    out = {}
    for p in PRESETS:
        out[p] = {}
        for f in EXPERIMENTS:
            out[p][f] = run_notebook_recording(f, p, tmp_path_factory.mktemp(f'{p}-{f}'))
    if dump := os.environ.get('EMM_GPU_CONFIGS_OUT'):        # the enumeration itself, for planning a GPU study
        Path(dump).write_text(json.dumps(out, indent=1))
    return out

def distinct(cfgs) -> list[dict]:
    "Configs without repeats, in first-seen order."
    seen = {}
    for c in cfgs: seen.setdefault(canonical_json(c), c)
    return list(seen.values())

def runs_of(requests, preset) -> list[dict]:
    return distinct(c for cs in requests[preset].values() for c in cs)


def test_every_notebook_requests_runs(requests, capsys):
    "Every experiment notebook requests runs at both presets; the counts (runs per notebook, distinct per preset)."
    lines = []
    for p in PRESETS:
        per = {f: len(distinct(cs)) for f, cs in requests[p].items()}
        lines.append(f"{p}: {len(runs_of(requests, p))} distinct runs; per notebook " + ', '.join(f"{f} {k}" for f, k in per.items()))
        assert all(per.values()), f"{p}: notebooks that requested no run: {[f for f, k in per.items() if not k]}"
    with capsys.disabled(): print('\n' + '\n'.join(lines))


@pytest.mark.parametrize('preset', PRESETS)
def test_coverage(requests, preset):
    "The runs cover what the study needs: NCSN++/VE skips, EMA, batch and weight-decay grids, random and unique labels, 8/16/32 px."
    r, runs = requests[preset], runs_of(requests, preset)
    assert {c['res'] for c in r['resolution']} == {8, 16, 32}, {c['res'] for c in r['resolution']}
    assert len({c['train']['batch'] for c in r['batch']}) >= 3
    assert len({c['train']['weight_decay'] for c in r['weight_decay']}) >= 3
    assert len({c['train']['ema_decay'] for c in r['ema']}) >= 3
    assert {c['labels'] for c in r['label_classes']} >= {'none', 'random', 'unique'}
    assert len({c['label_classes'] for c in r['label_classes'] if c['labels'] == 'random'}) >= 3
    assert {c['labels'] for c in r['conditioning']} == {'none', 'true', 'random'}
    mode = lambda k: 'all' if k.get('skip_mask') is None else k.get('skip_mode', 'zero')   # zero: the default, dropped from configs
    assert {mode(c['train']['net_kwargs']) for c in r['skips']} >= {'all', 'zero', 'remove'}
    assert any('mix' in c for c in r['intra_diversity'])
    if preset == 'paper':
        ve = [c for c in r['skips'] if c['train']['precond'] == 've']
        assert ve and all(c['train']['net_kwargs'].get('arch') == 'ncsnpp' for c in ve), "the NCSN++/VE skip study is missing"
        assert {mode(c['train']['net_kwargs']) for c in ve} >= {'all', 'zero', 'remove'}
        assert any(c['n'] == 50_000 and c['labels'] == 'unique' for c in runs), "the full-CIFAR unique-label run is missing"


@pytest.mark.parametrize('preset', PRESETS)
def test_configs_pass_their_checks(requests, preset):
    "Every distinct run config passes TrainConfig.check against a stand-in training set of its N, resolution and labels."
    bad = []
    for c in runs_of(requests, preset):
        try: TrainConfig.from_dict({**c['train'], 'device': 'cpu'}).check(StandIn(c), 1)
        except Exception as e: bad.append(f"n={c['n']} res={c['res']} labels={c['labels']}: {e}")
    assert not bad, '\n'.join(bad)


# -- networks ------------------------------------------------------------------------------------------------------
def _skips_text(c:dict) -> str:
    m = c['skip_mask']
    if all(m): return 'all'
    return ('zero' if c['skip_mode'] == 'zero' else 'rm') + ':' + ''.join('1' if k else '0' for k in m)

def _attn_levels(c:dict) -> tuple:
    "The levels (0 = full resolution) whose blocks have self-attention."
    return tuple(sorted(int(round(math.log2(c['img_resolution'] / r))) for r in c['attn_resolutions']))

_NETS = {}
def networks(requests, preset) -> dict:
    "{key: network} for every distinct network of a preset's runs, with its runs, meta-built config and parameter count."
    if preset not in _NETS:
        out = {}
        for c in runs_of(requests, preset):
            t = c['train']; m = meta_net(t['net'], net_kwargs(c))
            key = canonical_json(m['config'])
            d = out.setdefault(key, dict(name=t['net'], kw=net_kwargs(c), config=m['config'], params=m['params'], runs=[], paths={}))
            d['runs'].append(c)
            d['paths'].setdefault((t['precond'], t['precision'], t['channels_last']), c)   # one run per training path
        _NETS[preset] = out
    return _NETS[preset]

_BASIC = {}
def basic_flops() -> int:
    "Forward FLOPs of the paper's 35.1M DDPM++ at 32x32, batch 2."
    if 'f' not in _BASIC:
        _BASIC['f'] = meta_pass(dict(n=2, res=32, labels='none', classes=10, label_classes=None, label_seed=0,
                                     train=dict(net='ddpmpp', net_kwargs={}, precond='vp', channels_last=False)))['flops']
    return _BASIC['f']

def meta_pass(cfg:dict) -> dict:
    "The training forward of a run's full-size network (preconditioning and loss) at batch 2 on the meta device: shapes and FLOPs."
    from torch.utils.flop_counter import FlopCounterMode
    t, kw = cfg['train'], net_kwargs(cfg)
    fmt = torch.channels_last if t['channels_last'] else torch.contiguous_format
    labels, c = labels_of(cfg)
    with torch.device('meta'):
        net = make_net(t['net'], **kw); net.check_labels = False
        D = Precond(net.to(memory_format=fmt), t['precond']).train()
        y = torch.empty(2, 3, cfg['res'], cfg['res']).to(memory_format=fmt)
        lab = None if labels is None else torch.zeros(2, dtype=torch.int64)
        with FlopCounterMode(display=False) as fc: loss = DenoisingLoss(t['precond'])(D, y, lab)
    assert loss.shape == () and loss.requires_grad
    return dict(flops=fc.get_total_flops())

def _is_anchor(c:dict) -> bool:
    "The paper's two 32x32 networks (DDPM++ 35.1M, NCSN++ 35.8M), unconditional, every skip: always run at full size."
    return (c['img_resolution'] == 32 and c['label_dim'] == 0 and all(c['skip_mask']) and c['model_channels'] == 128
            and c['num_blocks'] == 2 and c['channel_mult'] == [2, 2, 2] and (c['arch'], c['embedding']) in (('ddpmpp', 'positional'), ('ncsnpp', 'fourier')))

def train_step_and_sample(cfg:dict, thin:bool) -> dict:
    "One real training step and one evaluation (MemEval: 2 samples, 2 Heun steps) of a run's network at batch 2 on the CPU."
    from emm_nb.training import _precision
    c = copy.deepcopy(cfg); t = c['train']
    if thin:
        mc = t['net_kwargs'].get('model_channels', NET_CONFIGS[t['net']]['model_channels'])
        t['net_kwargs'] = {**t['net_kwargs'], 'model_channels': max(4, mc // THIN)}
    t.update(batch=2, eval_samples=2, eval_batch=2, eval_steps=2, device='cpu', compile=False, log_steps=1)
    labels, n_classes = labels_of(c)
    x = np.random.default_rng(0).integers(0, 256, (4, c['res'], c['res'], 3), dtype=np.uint8)
    data = Subset(x, None if labels is None else labels[:4], n_classes, np.arange(4), np.zeros(4, dtype=np.int64))
    torch.manual_seed(0)
    tr = Trainer(TrainConfig.from_dict(t), data, None, progress=False)
    seen = {'train': [], 'eval': []}
    hook = lambda which: (lambda m, a: seen[which].append((torch.is_autocast_enabled('cpu'), a[0].dtype)))
    h = [tr.net.net.register_forward_pre_hook(hook('train')), tr.ema.net.register_forward_pre_hook(hook('eval'))]
    try:
        with _precision(t['precision']):
            tr._step(); loss = tr._sync_loss(); tr._snapshot()
    finally:
        for x_ in h: x_.remove()
    return dict(loss=loss, mem=tr.curve[-1]['mem'], train_autocast=[a for a, _ in seen['train']],
                eval_autocast=[a for a, _ in seen['eval']], eval_calls=len(seen['eval']), params=sum(p.numel() for p in tr.params),
                precision=t['precision'])

_CHECKS = {}
def checked(requests, preset) -> dict:
    "Meta pass and real step of every distinct network of a preset (computed once): {key: {meta, steps, ...}}."
    if preset not in _CHECKS:
        out = {}
        for key, d in networks(requests, preset).items():
            r = out[key] = dict(errors=[])
            try: r['meta'] = meta_pass(d['runs'][0])
            except Exception as e: r['errors'].append(f"meta: {type(e).__name__}: {e}"); continue
            r['thin'] = not (FULL or _is_anchor(d['config']) or r['meta']['flops'] <= 0.3 * basic_flops())
            r['steps'] = {}
            for path, cfg in d['paths'].items():
                t0 = time.perf_counter()
                try: r['steps'][path] = {**train_step_and_sample(cfg, r['thin']), 's': time.perf_counter() - t0}
                except Exception as e: r['errors'].append(f"step {path}: {type(e).__name__}: {e}")
        _CHECKS[preset] = out
    return _CHECKS[preset]

def _describe(d:dict) -> str:
    c = d['config']
    return (f"{c['img_resolution']}px {c['arch']}/{c['embedding'][:3]} ch{c['model_channels']} b{c['num_blocks']} "
            f"attn{list(c['attn_resolutions'])} labels{c['label_dim']} skips {_skips_text(c)}")


@pytest.mark.parametrize('preset', PRESETS)
def test_networks_build_train_and_sample(requests, preset):
    "Every distinct network builds and runs its training forward at full size (meta), then trains one step and samples on the CPU."
    ch, nets = checked(requests, preset), networks(requests, preset)
    bad = [f"{_describe(nets[k])}: {'; '.join(r['errors'])}" for k, r in ch.items() if r['errors']]
    assert not bad, f"{len(bad)} network(s) failed:\n" + '\n'.join(bad)
    for k, r in ch.items():
        for path, s in r['steps'].items():
            assert math.isfinite(s['loss']) and 0 <= s['mem'] <= 1, (_describe(nets[k]), path, s)
            assert s['eval_calls'] == 3, f"{_describe(nets[k])}: the 2-step Heun sampler called the network {s['eval_calls']} times, not 3"
            assert all(s['train_autocast']) == (s['precision'] == 'bf16') and s['train_autocast'], (_describe(nets[k]), s)


@pytest.mark.parametrize('preset', PRESETS)
def test_eval_sampling_not_under_bf16_autocast(requests, preset):
    "The evaluation sampler (MemEval inside the Trainer's snapshot) runs the EMA network outside bf16 autocast."
    ch, nets = checked(requests, preset), networks(requests, preset)
    bad = [f"{_describe(nets[k])} ({p[1]})" for k, r in ch.items() for p, s in r.get('steps', {}).items() if any(s['eval_autocast'])]
    assert all(r.get('steps') for r in ch.values())
    assert not bad, (f"{preset}: evaluation sampling runs under bf16 autocast for {len(bad)} network(s), e.g. {bad[0]}: the samples "
                     "that decide the memorization ratio come from a bf16 network (Trainer._snapshot passes the training autocast to MemEval)")


@pytest.mark.parametrize('preset', PRESETS)
def test_attention_at_the_same_level_at_every_resolution(requests, preset):
    "The network at 8, 16 and 32 px is the same network: attention at the same level of the U-Net at every resolution."
    nets = networks(requests, preset)
    by_layout = {}
    for d in nets.values():
        c = d['config']
        layout = canonical_json({k: v for k, v in c.items() if k not in ('img_resolution', 'attn_resolutions', 'label_dim')})
        by_layout.setdefault(layout, {}).setdefault(_attn_levels(c), set()).add(c['img_resolution'])
    bad = [lv for lv in by_layout.values() if len(lv) > 1]
    assert not bad, f"{preset}: attention levels differ with the resolution (level 0 = full resolution): " + '; '.join(
        ', '.join(f"{sorted(rs)} px: levels {list(l)}" for l, rs in lv.items()) for lv in bad)
    res_nets = [meta_net(c['train']['net'], net_kwargs(c))['config'] for c in requests[preset]['resolution']]
    assert {_attn_levels(c) for c in res_nets} == {(1,)}, f"{preset}: attention not at the paper's level 1 (16x16 of 32x32)"


def _ema_decay(cfg:TrainConfig, nimg:float, n:int) -> float:
    "Per-step EMA decay after `nimg` images of a training set of `n` (`ema_decay_at` with or without its `n` argument)."
    import inspect
    return ema_decay_at(cfg, nimg, n) if 'n' in inspect.signature(ema_decay_at).parameters else ema_decay_at(cfg, nimg)

@pytest.mark.parametrize('preset', PRESETS)
def test_batch_study_ema_decay_independent_of_batch(requests, preset):
    "The batch study changes the batch (and lr), not the EMA: the per-step EMA decay is the same at every batch (ema_ref_batch set)."
    bad, checked_ = [], 0
    for n in sorted({c['n'] for c in requests[preset]['batch']}):
        runs = [c for c in requests[preset]['batch'] if c['n'] == n]
        cfgs = {c['train']['batch']: TrainConfig.from_dict(c['train']) for c in runs}
        if len(cfgs) < 2: continue                            # the baseline's seeds, trained for the tests' dispersion
        for nimg in (n, 10 * n, 1e12):                        # during the ramp (same images seen) and after it
            d = {b: _ema_decay(t, nimg, n) for b, t in cfgs.items()}
            checked_ += 1
            if max(d.values()) - min(d.values()) > 1e-12:
                bad.append(f"N={n}, after {nimg:g} images: " + ', '.join(f'batch {b}: {v:.6f}' for b, v in sorted(d.items()))
                           + f" (ema_ref_batch {sorted({str(t.ema_ref_batch) for t in cfgs.values()})})")
    assert checked_ and not bad, f"{preset}: the per-step EMA decay changes with the batch: " + '; '.join(bad)


def paper_text(m): return '' if m is None else f'{m:.1f}M'

def test_parameter_counts_match_the_paper(requests, capsys):
    "Parameter counts of every distinct network; unconditional 32x32 networks with a paper count are within 0.1M of it."
    rows, bad, seen = [], [], {}
    for p in PRESETS:
        ch = checked(requests, p)
        for k, d in networks(requests, p).items():
            c = d['config']
            if k in seen: seen[k]['presets'].append(p); continue
            pm = PAPER_M.get(_paper_m_key(c)) if c['img_resolution'] == 32 and c['label_dim'] == 0 and all(c['skip_mask']) else None
            r = ch[k]
            row = seen[k] = dict(presets=[p], d=d, pm=pm, mode='thin' if r.get('thin') else 'full',
                                 s=sum(s['s'] for s in r.get('steps', {}).values()), gflops=r.get('meta', {}).get('flops', 0) / 1e9)
            rows.append(row)
            if pm is not None and abs(d['params'] / 1e6 - pm) > 0.1: bad.append(f"{_describe(d)}: {d['params'] / 1e6:.2f}M, paper {pm}M")
    lines = [f"{'presets':11s} {'res':>3s} {'arch':6s} {'emb':3s} {'ch':>3s} {'blk':>3s} {'attn':8s} {'labels':>6s} {'skips':14s} "
             f"{'params':>8s} {'paper':>6s} {'GF@2':>6s} {'step':4s} {'s':>5s} runs"]
    for r in sorted(rows, key=lambda r: (r['d']['config']['img_resolution'], r['d']['params'])):
        c = r['d']['config']
        lines.append(f"{'+'.join(r['presets']):11s} {c['img_resolution']:3d} {c['arch']:6s} {c['embedding'][:3]:3s} {c['model_channels']:3d} "
                     f"{c['num_blocks']:3d} {str(list(c['attn_resolutions'])):8s} {c['label_dim']:6d} {_skips_text(c):14s} "
                     f"{r['d']['params'] / 1e6:7.2f}M {paper_text(r['pm']):>6s} "
                     f"{r['gflops']:6.1f} {r['mode']:4s} {r['s']:5.1f} {len(r['d']['runs'])}")
    with capsys.disabled(): print(f"\n{len(rows)} distinct networks (GF@2: forward GFLOPs at batch 2; step: the CPU step at full size or as a 1/{THIN}-width twin)\n" + '\n'.join(lines))
    assert not bad, '\n'.join(bad)


@pytest.mark.parametrize('preset', ['cpu', *PRESETS])
def test_notebooks_train_exactly_their_plans(requests, preset, tmp_path):
    "What the runner trains ahead (each experiment's plan) is what its notebook measures: no run missed, none wasted."
    got = requests[preset] if preset in requests else {f: run_notebook_recording(f, preset, tmp_path / f) for f in EXPERIMENTS}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(S, '_cifar10', lambda root=None: synthetic_cifar10())
        study = S.Study(preset, tmp_path / 'plan_runs')
        for f in EXPERIMENTS:
            planned = {canonical_json(c) for c in planned_configs(study, plan(f, study))}
            assert planned == {canonical_json(c) for c in got[f]}, f"{preset}/{f}: the notebook measures other runs than its plan"


def test_paper_bf16_differs_from_paper_only_in_precision(tmp_path):
    "`paper-bf16` is the paper's protocol with bf16 training: every run config equal but precision and layout, under its own run ids."
    from emm_nb.study import Study
    a, b = Study('paper', tmp_path / 'a', progress=False), Study('paper-bf16', tmp_path / 'b', progress=False)
    for n in (1000, 5000):
        ca, cb = a.config(n), b.config(n)
        diff = {k for k in ca['train'] if ca['train'][k] != cb['train'].get(k)}
        assert diff == {'precision', 'channels_last'} and cb['train']['precision'] == 'bf16', diff
        assert a.cache.id(ca) != b.cache.id(cb)
    f = S.get_preset("paper")['label_classes']['full']
    assert f['epochs'] / f['snapshot_epochs'] == 240, "the 50k unique-label arm evaluates a snapshot every 2.5M images (240 over 12,000 epochs)"
