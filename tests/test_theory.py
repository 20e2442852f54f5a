"The theory notebook runs under papermill with parameters and writes its results JSON to out_dir."
import json
from conftest import run_notebook

def test_theory_notebook_papermill(tmp_path, data_root):
    run_notebook('theory/theory.ipynb', tmp_path / 'exec', dict(n_train=100, n_samples=100, res=8,
                 out_dir=str(tmp_path / 'out'), interactive=False))
    r = json.loads((tmp_path / 'out' / 'theory_results.json').read_text())
    assert r['n_train'] == 100 and r['n_samples'] == 100 and r['res'] == 8
    assert r['memorization_ratio'] == 1.0            # the optimum copies its training set
    assert r['knn_distance'] == 0.0
    c = r['checks']
    assert c['optimum_vs_loop_max_abs_err'] < 1e-12 and c['unique_labels_exact']
    assert c['random_label_optimum_memorization'] == 1.0
