"The runner's executors at the smoke preset: every other factor over a pool of two CPU workers (one device packed twice), and Slurm via submitit's local executor."
import json, os, subprocess, sys, time
from pathlib import Path
import pytest
from test_study import emm_study

FACTORS = ('intra_diversity', 'width', 'skips')   # the headline pages run in test_study.py, the other knob pages in test_any_data.py, EMA under Slurm below

def _run_steps(run):
    "Training steps logged in a run folder, in order (a run trained twice would log its steps twice)."
    return [json.loads(l)['step'] for l in (run / 'train' / 'stats.jsonl').read_text().splitlines() if 'loss' in json.loads(l)]

def test_pool_executor_two_cpu_workers(tmp_path, data_root):
    out = tmp_path / 'study'
    from emm_nb.runner import plan_runs
    n = len(plan_runs('smoke', list(FACTORS), {}, tmp_path / 'plan'))         # the distinct runs these pages ask for
    assert n >= 8
    r = emm_study('--preset', 'smoke', '--out', str(out), '--factors', ','.join(FACTORS), '--executor', 'pool', '--devices', 'cpu', '--runs-per-device', '2')
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'on 2 worker(s) (cpu, cpu)' in r.stdout
    st = json.loads((out / 'status.json').read_text())
    assert st['executor'] == 'pool' and all(st['status'][f] == 'ok' for f in (*FACTORS, 'summary')), st['status']
    assert {st['where'][f]['device'] for f in FACTORS} == {'cpu'}
    assert len({st['where'][f]['pid'] for f in FACTORS}) == 2                  # both workers rendered notebooks
    assert st['runs'] == dict(trained=n, reused=0, failed=0) and r.stdout.count('[run ') == n   # the runs first, each once (the baseline's seeds too: tests borrow their dispersion)
    assert f'runs: {n} trained, 0 reused from the cache, 0 failed' in r.stdout
    for f in FACTORS:                                                           # every notebook ran once, into its folder, with its figure
        nb = json.loads((out / f / f'{f}.ipynb').read_text())
        assert any('image/png' in o.get('data', {}) for c in nb['cells'] for o in c.get('outputs', [])), f"{f}: no figure on the page"
        assert r.stdout.count(f'] {f}: done') == 1 and (out / f / f'{f}.ipynb').exists() and (out / f / f'{f}.png').exists()
        d = json.loads((out / f / 'results.json').read_text())
        assert d['experiment'] == f and d['preset'] == 'smoke' and d['finding'] and d['settings'] and 'agrees' in d
        assert d['agrees'] is None or isinstance(d['agrees'], bool)
        for s in d['settings']:
            assert s['emm'] is None and s['n'] == 20 and 0 <= s['ratio_lo'] <= s['ratio'] <= s['ratio_hi'] <= 1 and s['text'].startswith('R_mem')
    # runs shared, never trained twice: n distinct configs, each finished once with strictly increasing steps
    runs = sorted(p for p in (out / 'runs').iterdir() if p.is_dir())
    assert len(runs) == n and all((p / 'result.json').exists() for p in runs), [p.name for p in runs]
    for p in runs: s = _run_steps(p); assert s == sorted(set(s)), f"{p.name} trained twice: steps {s}"
    res = {f: json.loads((out / f / 'results.json').read_text()) for f in FACTORS}
    skips = {s['setting'] for s in res['skips']['settings']}
    assert skips == {'all skips', *(f'{m}, keep {k}' for m in ('zero', 'remove') for k in ('1', '8x8', '4x4'))}   # both modes, side by side
    assert res['skips']['modes'] == ['zero', 'remove'] and all(s.get('verdict') for s in res['skips']['settings'] if s['setting'] != 'all skips')
    intra = res['intra_diversity']
    assert intra['second_source']['standin'] and intra['note'].startswith('STAND-IN') and intra['agrees'] is None
    assert {s['setting'] for s in intra['settings']} == {'α = 0', 'α = 1'}
    rows = json.loads((out / 'summary.json').read_text())
    assert {r_['experiment'] for r_ in rows} == set(FACTORS)
    assert all(r_['note'].startswith('STAND-IN') for r_ in rows if r_['experiment'] == 'intra_diversity')
    nb = json.loads((out / 'summary.ipynb').read_text())
    table = ''.join(''.join(o['data']['text/markdown']) for c in nb['cells'] for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {}))
    assert all(f"| **{f.replace('_', ' ')}** (" in table for f in FACTORS) and 'STAND-IN' in table and 'Data: CIFAR-10.' in table

def test_slurm_executor_with_submitit_local(tmp_path, data_root):
    out = tmp_path / 'study'
    r = emm_study('--preset', 'smoke', '--out', str(out), '--factors', 'ema', '--executor', 'slurm', '--slurm-cluster', 'local',
                  '--slurm', 'timeout_min', '20', '--slurm', 'cpus_per_task', '1')
    assert r.returncode == 0, r.stdout + r.stderr
    st = json.loads((out / 'status.json').read_text())
    assert st['executor'] == 'slurm' and st['status'] == {'ema': 'ok', 'summary': 'ok'} and st['where']['ema']['job_id']
    assert st['where']['ema']['pid'] and list((out / 'jobs').glob('*_log.out'))    # ran as a submitit job, with its logs
    assert json.loads((out / 'ema' / 'results.json').read_text())['experiment'] == 'ema'

@pytest.mark.parametrize('args,msg', [
    (['--executor', 'slurm', '--slurm-cluster', 'local', '--slurm', 'slurm_colour', 'red'], 'submitit refused'),
    (['--executor', 'local', '--devices', 'cpu,cpu'], '--devices is for --executor pool'),
    (['--slurm', 'timeout_min', '5'], 'slurm options are for --executor slurm'),
    (['--executor', 'pool', '--devices', 'cuda:99'], "device 'cuda:99'"),
    (['--executor', 'pool', '--devices', 'cpu', '--device', 'cpu'], 'each worker uses its own'),
    (['--executor', 'pool', '--devices', 'cpu', '--runs-per-device', '0'], 'runs per device must be an integer >= 1, got 0'),
    (['--executor', 'local', '--runs-per-device', '2'], '--runs-per-device is for the pool executor'),
])
def test_bad_executor_requests(tmp_path, capsys, args, msg):
    from emm_nb.runner import main
    assert main(['--preset', 'smoke', '--factors', 'ema', '--out', str(tmp_path / 'o'), *args]) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()                                        # refused before anything was written

def test_pool_executor_without_gpus(tmp_path, capsys):
    import torch
    from emm_nb.runner import main
    if torch.cuda.is_available(): pytest.skip("this machine has a GPU")
    assert main(['--preset', 'smoke', '--factors', 'ema', '--out', str(tmp_path / 'o'), '--executor', 'pool']) == 2
    assert 'found no GPU' in capsys.readouterr().err

def _alive(pid:int) -> bool:
    try: os.kill(pid, 0)
    except ProcessLookupError: return False
    st = Path(f'/proc/{pid}/stat')                  # a zombie (exited, not yet reaped) counts as gone
    return not (st.exists() and st.read_text().split(') ')[-1].startswith('Z'))

def test_killed_study_leaves_no_worker_behind(tmp_path):
    "SIGKILL the process that runs the pool: its workers notice and exit (before the fix they trained on as orphans)."
    p = subprocess.Popen([sys.executable, str(Path(__file__).parent / 'pool_job.py'), str(tmp_path)])
    pids = []
    try:
        while len(pids) < 2:                        # the event: both workers have started their job
            assert p.poll() is None, f"the pool script ended early (rc {p.returncode})"
            pids = [int(f.read_text()) for f in tmp_path.glob('pid-*') if f.read_text()]
            time.sleep(0.1)
        kids = Path(f'/proc/{p.pid}/task/{p.pid}/children')
        if kids.exists(): pids = sorted({*pids, *map(int, kids.read_text().split())})   # and any helper process of the pool
        p.kill(); p.wait()
        for _ in range(600):                        # a guard, not a deadline: the watch polls once a second
            if not any(map(_alive, pids)): break
            time.sleep(0.1)
        assert not any(map(_alive, pids)), f"processes {[q for q in pids if _alive(q)]} of the pool outlived the killed study"
    finally:
        (tmp_path / 'release').write_text('')       # whatever happened, let any worker left end its job
        if p.poll() is None: p.kill()

def test_slurm_job_requeued_at_its_time_limit(tmp_path):
    "A job signalled before its time limit (submitit's local cluster, as Slurm does) is requeued with the same call: it starts again and finishes."
    from emm_nb.executors import Requeued, echo_job, slurm_executor
    ex = slurm_executor(tmp_path / 'jobs', 'local', dict(timeout_min=1, slurm_signal_delay_s=55))   # the signal comes 5 s after the start
    started, go = tmp_path / 'started', tmp_path / 'go'
    job = ex.submit(Requeued(), echo_job, dict(name='long', started=str(started), wait_for=str(go)), None)
    while not (started.exists() and len(started.read_text().split()) >= 2):     # the event: a second start, after the requeue
        assert not job.done(), f"the job ended without being requeued: {job.result()}"
        time.sleep(0.2)
    go.touch()
    r = job.result()
    assert r['status'] == 'ok' and r['pid'] == int(started.read_text().split()[1])
