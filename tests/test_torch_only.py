"""What a GPU node with only torch and numpy can run: a Python whose notebook tooling is hidden (fastcore, nbdev,
execnb, ghapi, papermill, ipykernel, nbformat, nbclient, jupyter_client, submitit) imports the package's core, the
trainer and the GPU check, and (once emm_nb.study drops fastcore) trains a `gpu`-preset run through the study into
a run cache."""
import json, os, subprocess, sys, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLING = ('fastcore', 'nbdev', 'execnb', 'ghapi', 'papermill', 'ipykernel', 'nbformat', 'nbclient', 'jupyter_client', 'submitit')
HIDE = f"""
import importlib.abc, sys
class Hidden(importlib.abc.MetaPathFinder):
    "Notebook tooling is not installed on the GPU node."
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {TOOLING!r}: raise ModuleNotFoundError(f"No module named {{name!r}} (hidden: a node with only torch)", name=name)
sys.meta_path.insert(0, Hidden())
"""

def torch_only(code:str, tmp_path) -> dict:
    "Run `code` in a fresh Python without the tooling; it prints one JSON line last."
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([sys.executable, '-c', HIDE + textwrap.dedent(code)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])

def test_core_and_gpu_check_import_with_torch_only(tmp_path):
    got = torch_only(f"""
        import importlib.util, json, sys
        import emm_nb.training, emm_nb.optimal, emm_nb.gap
        spec = importlib.util.spec_from_file_location('device_check', {str(ROOT / 'bench' / 'device_check.py')!r})
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        try: import fastcore
        except ModuleNotFoundError as e: hidden = str(e)
        print(json.dumps(dict(modules=sorted(m for m in sys.modules if m.startswith('emm_nb.')), hidden=hidden,
                              tooling=sorted(m for m in sys.modules if m.split('.')[0] in {TOOLING!r}))))
        """, tmp_path)
    assert 'hidden' in got['hidden'] and got['tooling'] == []
    assert {'emm_nb.training', 'emm_nb.data', 'emm_nb.networks', 'emm_nb.sampling', 'emm_nb.metrics', 'emm_nb.memeval',
            'emm_nb.optimal', 'emm_nb.cache', 'emm_nb.gap'} <= set(got['modules'])

def test_gpu_preset_run_into_the_cache_with_torch_only(tmp_path):
    got = torch_only("""
        import json
        try: from emm_nb.study import Study, run_settings, train_run
        except ModuleNotFoundError as e: print(json.dumps(dict(missing=e.name))); raise SystemExit
        cfg = Study('gpu', 'cache', progress=False).config(100, res=8, epochs=2, snapshot_epochs=2, batch=16,
                                                          net_kwargs=dict(model_channels=8), eval_samples=16, eval_steps=3)
        r = train_run(cfg, 'cache', 'cpu', run_settings('gpu'))
        print(json.dumps(dict(result=r, again=train_run(cfg, 'cache', 'cpu', run_settings('gpu')) == r)))
        """, tmp_path)
    if 'missing' in got: raise ModuleNotFoundError(f"No module named {got['missing']!r}", name=got['missing'])
    assert got['again'] and len(got['result']['curve']) == 1 and 0 <= got['result']['ratio'] <= 1

def test_emm_study_runs_only_with_torch_only(tmp_path, data_root):
    "emm_study --runs-only on a node without papermill: the request is checked against the declarations, the runs train into the cache, no notebook runs."
    got = torch_only(f"""
        import json, os
        os.environ['EMM_DATA'] = {str(data_root)!r}
        from emm_nb.runner import main
        bad = main(['--preset', 'smoke', '--factors', 'width', '--out', 'o', '--runs-only', '-p', 'widths', '[0]'])
        rc = main(['--preset', 'smoke', '--factors', 'width', '--out', 'o', '--runs-only', '--executor', 'local'])
        print(json.dumps(dict(bad=bad, rc=rc, status=json.load(open('o/status.json')), runs=sorted(os.listdir('o/runs')),
                              notebooks=os.path.exists('o/width/width.ipynb'))))
        """, tmp_path)
    assert got['bad'] == 2 and got['rc'] == 0 and got['status']['runs_only'] and not got['notebooks']
    assert got['status']['runs']['trained'] == len([r for r in got['runs'] if not r.startswith('.')]) > 0
