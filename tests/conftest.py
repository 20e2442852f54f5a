"Shared test set-up: the data folder beside the project, and a papermill runner for notebooks."
import json, os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault('EMM_DATA', str(ROOT.parent / 'shared' / 'data' / 'cifar10'))
os.environ.setdefault('MPLBACKEND', 'Agg')

@pytest.fixture(scope='session')
def data_root():
    p = Path(os.environ['EMM_DATA'])
    if not (p / 'train_00.npz').exists(): pytest.fail(f"CIFAR-10 chunks not found at {p} (set EMM_DATA)")
    return p

def run_notebook(nb, exec_dir, params=None):
    "Execute a notebook of nbs/ with papermill into exec_dir; returns the executed notebook's path."
    import papermill as pm
    nb = ROOT / 'nbs' / nb
    exec_dir = Path(exec_dir); exec_dir.mkdir(parents=True, exist_ok=True)
    out = exec_dir / nb.name
    pm.execute_notebook(str(nb), str(out), parameters=params or {}, cwd=str(exec_dir), kernel_name='python3', progress_bar=False)
    return out
