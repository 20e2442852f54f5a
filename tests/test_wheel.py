"""The installable study: a wheel built from this checkout, installed into a fresh venv, ships every experiment's notebook
and runs a smoke study from any folder (data size, with its plateau-scan data: the other notebooks run from the checkout
in the other tests)."""
import json, os, subprocess, sys, sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r

def test_wheel_runs_the_smoke_study_from_any_folder(tmp_path, data_root):
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', tmp_path / 'dist', ROOT])
    whl, = (tmp_path / 'dist').glob('emm_nb-*.whl')
    venv = tmp_path / 'venv'
    run([sys.executable, '-m', 'venv', venv])
    py, site = venv / 'bin' / 'python', Path(run([venv / 'bin' / 'python', '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']).stdout.strip())
    # the dependencies (torch, papermill, ...) come from this environment; emm_nb itself only from the wheel
    (site / 'deps.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    run([py, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index', whl])
    where = run([py, '-c', 'import emm_nb, emm_nb.runner as r; print(emm_nb.__file__); print(r.NBS)'], cwd=tmp_path).stdout.split()
    assert where[0].startswith(str(site)) and where[1] == str(site / 'emm_nb' / 'notebooks'), where   # not this checkout
    elsewhere = tmp_path / 'elsewhere'; elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH',)}
    from emm_nb.runner import EXPERIMENTS
    nbs = site / 'emm_nb' / 'notebooks'
    assert all((nbs / 'experiments' / f / f'{f}.ipynb').exists() for f in EXPERIMENTS), sorted(p.name for p in nbs.rglob('*.ipynb'))
    assert (nbs / 'experiments' / 'data_size' / 'plateau_scan.json').exists() and (nbs / 'results' / 'summary.ipynb').exists()
    r = run([venv / 'bin' / 'emm_study', '--preset', 'smoke', '--out', 'out', '--factors', 'data_size'], cwd=elsewhere, env=env)
    st = json.loads((elsewhere / 'out' / 'status.json').read_text())
    assert st['status'] == {'data_size': 'ok', 'summary': 'ok'}, st['status']
    assert (elsewhere / 'out' / 'summary.csv').exists() and 'summary rows' in r.stdout
