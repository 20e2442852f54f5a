"""The plateau scan: how long the cpu study's candidate networks need before memorization levels off, and at what level.

Trains each candidate (the tiny U-Net at several base widths) on CIFAR-10 8x8 subsets of N = 30 ... 400 images for a
budget in epochs, the same for every N as in the paper, with log-spaced snapshots (256 samples each) and no early stop,
one training seed. Runs go through a run cache (resumable: a killed scan picks up where it stopped), two at a time on
two CPU workers. The curves are written to a small JSON that the data-size page plots.

    python tools/plateau_scan.py [--cache ~/.cache/emm_nb/plateau_scan] [--out nbs/experiments/data_size/plateau_scan.json]

`--extend 8000 --runs 16:100 16:200` continues finished scan runs to a longer budget (a copy of each run, resumed from
its last checkpoint under <cache>-extended/, with the same log-spaced snapshots continued); the JSON then holds the
longer curves of those runs.
"""
import argparse, json, os, platform, shutil, time
from pathlib import Path
from emm_nb.study import Study, train_run, run_settings
from emm_nb.cache import write_json
from emm_nb import executors as ex
from emm_nb.runner import train_task

EPOCHS = 4000.
SNAPSHOTS = [round(100 * 2 ** (k / 2), 1) for k in range(11)] + [EPOCHS]   # 100, 141, 200, ... 3200, 4000: log-spaced
CANDIDATES = {8: (30, 50, 100, 200, 400), 16: (30, 50, 100, 200, 400), 32: (50, 100, 200, 400)}   # base channels: N
ORDER = [(16, 400), (32, 400), (16, 200), (16, 100), (16, 50), (16, 30), (8, 400), (8, 200), (8, 100), (8, 50), (8, 30),
         (32, 200), (32, 100), (32, 50)]   # the chosen candidates' answers first, the two longest runs side by side

def scan_config(study:Study, ch:int, n:int) -> dict:
    "One scan run: the cpu preset's procedure with `ch` base channels, EPOCHS epochs, log-spaced snapshots, no early stop."
    return study.config(n, net_kwargs=dict(model_channels=ch), epochs=EPOCHS, snapshot_epochs=SNAPSHOTS, stop_at=None, plateau=None, plateau_after=0.)

def extend_task(task:dict, device=None) -> dict:
    "A worker's job: continue one finished scan run (a copy of its folder) to `epochs`, resuming from its checkpoint."
    from emm_nb.training import TrainConfig, train
    from emm_nb.study import run_data
    src, dst = Path(task['src']), Path(task['dst'])
    if not (dst / 'train').exists(): shutil.copytree(src / 'train', dst / 'train')
    cfg = json.loads((src / 'config.json').read_text())
    t = {**cfg['train'], **task['settings'], 'device': device, 'epochs': task['epochs'], 'snapshot_epochs': task['snapshots']}
    tc = json.loads((dst / 'train' / 'config.json').read_text())        # the copy's own record: its snapshots continue the same log spacing
    if tc['snapshot_epochs'] != task['snapshots']: write_json(dst / 'train' / 'config.json', {**tc, 'snapshot_epochs': task['snapshots']})
    t0 = time.time(); m = train(TrainConfig.from_dict(t), run_data(cfg), dst / 'train', progress=False)
    return dict(status='ok', ratio=m['max_mem'], wall_s=time.time() - t0)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--cache', default=os.path.expanduser('~/.cache/emm_nb/plateau_scan'))
    p.add_argument('--out', default='nbs/experiments/data_size/plateau_scan.json')
    p.add_argument('--workers', type=int, default=2)
    p.add_argument('--extend', type=float, help='continue the runs named by --runs to this many epochs')
    p.add_argument('--runs', nargs='*', default=[], help='CHANNELS:N of the runs to extend, e.g. 16:100')
    a = p.parse_args(argv)
    study = Study('cpu', a.cache, progress=False)
    assert sorted(ORDER) == sorted((c, n) for c, ns in CANDIDATES.items() for n in ns)
    cfgs = {(c, n): scan_config(study, c, n) for c, n in ORDER}
    settings = run_settings(study.preset)
    tasks = [dict(config=cfgs[k], cache=str(study.cache.root), settings=settings, key=k) for k in ORDER]
    t0 = time.time()
    def done(_, t, r): print(f"[{time.time() - t0:6.0f} s] {t['key'][0]} ch, N={t['key'][1]}: {r['status']} "
                             f"{r.get('ratio', float('nan')):.1%} in {r.get('wall_s', 0):.0f} s", flush=True)
    ext_root = Path(str(study.cache.root) + '-extended')
    if a.extend:
        snaps = SNAPSHOTS + [s * 2 ** (k / 2) for k in range(1, 20) if SNAPSHOTS[-2] * 2 ** (k / 2) * 1 <= a.extend for s in [SNAPSHOTS[-2]]]
        snaps = sorted({round(v, 1) for v in snaps if v < a.extend} | {a.extend})
        keys = [tuple(int(v) for v in r.split(':')) for r in a.runs]
        tasks = [dict(src=str(study.cache.dir(cfgs[k])), dst=str(ext_root / study.cache.id(cfgs[k])), epochs=a.extend, snapshots=snaps,
                      settings=settings, key=k) for k in keys]
        ex.run_pool(extend_task, tasks, ['cpu'] * min(a.workers, len(tasks)), done)
    else: ex.run_pool(train_task, tasks, ['cpu'] * a.workers, done)
    runs = []
    for (c, n), cfg in cfgs.items():
        r = study.cache.get(cfg)
        if r is None: continue
        longer = ext_root / study.cache.id(cfg) / 'train' / 'metrics.json'
        if longer.exists(): r = {**r, **{k: v for k, v in json.loads(longer.read_text()).items() if k in ('curve', 'img_per_s', 'train_s')}}
        runs.append(dict(channels=c, n=n, params=r['params'], img_per_s=r['img_per_s'], train_s=r['train_s'],
                         curve=[dict(epoch=round(s['epoch'], 2), mem=s['mem']) for s in r['curve']], run_id=study.cache.id(cfg)))
    write_json(a.out, dict(about="plateau scan of the cpu study's network: tiny U-Net (EDM preconditioning, batch 64, lr 1e-3, "
                                 f"{_settings_text(settings)}), CIFAR-10 8x8 unconditional, training seed 0, "
                                 f"{EPOCHS:,.0f} epochs for every N (some runs continued further: see each run's curve), "
                                 "256 samples per snapshot, no early stop",
                           made_by="python tools/plateau_scan.py", machine=f"{platform.machine()}, {os.cpu_count()} cores, "
                           f"{args_workers(a)} runs at a time", precision=study.base.precision, epochs=EPOCHS,
                           snapshots=SNAPSHOTS, runs=runs))
    print(f"{len(runs)} of {len(cfgs)} runs finished; wrote {a.out}")

def args_workers(a): return a.workers

def _settings_text(s:dict) -> str:
    "The sampler settings in words (no raw dict on a page)."
    return f"sampling {s.get('eval_batch', 'all')} samples per call, {'compiled' if s.get('compile') else 'not compiled'}"

if __name__ == '__main__': main()
