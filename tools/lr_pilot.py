"""The learning-rate pilot: does a larger Adam learning rate let the cpu study's network level off within a budget 2 cores afford?

The plateau scan (tools/plateau_scan.py) found no candidate network whose 90 % crossing levels off within an affordable
budget at the preset's lr of 1e-3. This pilot trains the same tiny U-Net (8 and 16 base channels) at a larger lr
(4e-3 and 1e-2, the warm-up unchanged) on CIFAR-10 8x8, 8,000 epochs for every N, log-spaced snapshots of 256 samples,
no early stop, training seed 0, and compares each curve with the scan's run of the same network and N at lr 1e-3.
Runs go through their own run cache (resumable; two at a time on two CPU workers); a run stopped before its budget is
reported up to its last snapshot (once past 2,000 epochs), marked as such.

    python tools/lr_pilot.py [--cache ~/.cache/emm_nb/lr_pilot] [--out nbs/experiments/data_size/lr_pilot.json] [--report]
"""
import argparse, json, os, time
from pathlib import Path
from emm_nb.study import Study, run_settings
from emm_nb.cache import write_json
from emm_nb import executors as ex
from emm_nb.runner import train_task

EPOCHS = 8000.
SNAPSHOTS = sorted({round(100 * 2 ** (k / 2), 1) for k in range(13)} | {EPOCHS})   # 100, 141, 200, ... 6400, 8000
RUNS = [(16, 4e-3, 400), (8, 1e-2, 100), (8, 4e-3, 100), (8, 1e-2, 200), (16, 4e-3, 200), (8, 4e-3, 200)]   # (channels, lr, N)
SCAN = Path('nbs/experiments/data_size/plateau_scan.json')   # the lr 1e-3 reference curves

def pilot_config(study:Study, ch:int, lr:float, n:int) -> dict:
    "One pilot run: the cpu preset's procedure with `ch` base channels and learning rate `lr`, EPOCHS epochs, no early stop."
    return study.config(n, net_kwargs=dict(model_channels=ch), lr=lr, epochs=EPOCHS, snapshot_epochs=SNAPSHOTS,
                        stop_at=None, plateau=None, plateau_after=0.)

def curve_so_far(run_dir:Path) -> list[dict]:
    "The snapshots a run has written, finished or not (its train/stats.jsonl)."
    f = run_dir / 'train' / 'stats.jsonl'
    if not f.exists(): return []
    rows = [json.loads(l) for l in f.read_text().splitlines() if l.strip()]
    return [dict(epoch=round(r['epoch'], 2), mem=r['mem']) for r in rows if 'mem' in r]

def at(curve:list[dict], epoch:float) -> float|None:
    "The best ratio over the snapshots up to `epoch` (None when the curve does not reach it)."
    if not curve or curve[-1]['epoch'] < epoch * 0.99: return None
    return max(p['mem'] for p in curve if p['epoch'] <= epoch * 1.01)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--cache', default=os.path.expanduser('~/.cache/emm_nb/lr_pilot'))
    p.add_argument('--out', default='nbs/experiments/data_size/lr_pilot.json')
    p.add_argument('--workers', type=int, default=2)
    p.add_argument('--report', action='store_true', help='train nothing: write and print what the cache holds')
    a = p.parse_args(argv)
    study = Study('cpu', a.cache, progress=False)
    cfgs = {k: pilot_config(study, *k) for k in RUNS}
    if not a.report:
        settings, t0 = run_settings(study.preset), time.time()
        tasks = [dict(config=cfgs[k], cache=str(study.cache.root), settings=settings, key=k) for k in RUNS]
        def done(_, t, r): print(f"[{time.time() - t0:6.0f} s] {t['key']}: {r['status']} {r.get('ratio', float('nan')):.1%}", flush=True)
        ex.run_pool(train_task, tasks, ['cpu'] * a.workers, done)
    scan = {(r['channels'], r['n']): r['curve'] for r in json.loads(SCAN.read_text())['runs']} if SCAN.exists() else {}
    runs = []
    for (ch, lr, n), cfg in cfgs.items():
        curve = curve_so_far(study.cache.dir(cfg))
        if not curve or curve[-1]['epoch'] < 2000: continue   # a run stopped in its first minutes says nothing yet
        runs.append(dict(channels=ch, lr=lr, n=n, finished=study.cache.get(cfg) is not None, curve=curve,
                         reference_lr=1e-3, reference_curve=scan.get((ch, n), [])))
    for r in runs:
        ref = r['reference_curve']
        cells = [f"{e:,.0f}: {_pc(at(r['curve'], e))} vs {_pc(at(ref, e))}" for e in (2262.72, 3200., 8000.)]
        print(f"{r['channels']} ch, N = {r['n']}, lr {r['lr']:g} vs 1e-3 ({'finished' if r['finished'] else 'stopped'}): " + '; '.join(cells))
    write_json(a.out, dict(about="learning-rate pilot: the cpu study's tiny U-Net (EDM preconditioning, batch 64, bf16) on CIFAR-10 8x8, "
                                 f"{EPOCHS:,.0f} epochs for every N, 256 samples per snapshot, no early stop, training seed 0; "
                                 "each run beside the plateau scan's run of the same network and N at lr 1e-3",
                           made_by="python tools/lr_pilot.py", epochs=EPOCHS, runs=runs))
    print(f"{sum(r['finished'] for r in runs)} of {len(cfgs)} runs finished, {len(runs)} with snapshots; wrote {a.out}")

def _pc(v): return '-' if v is None else f"{v:.0%}"

if __name__ == '__main__': main()
