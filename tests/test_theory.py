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


def test_theory_notebook_on_another_data_set(tmp_path, data_root):
    "`-p data ...`: the same derivation and checks on a grayscale MNIST-format set (written here, no download)."
    import gzip, struct
    import numpy as np
    raw = tmp_path / 'mnist' / 'MNIST' / 'raw'; raw.mkdir(parents=True)
    def write_idx(path, a):
        with gzip.open(path, 'wb') as f: f.write(bytes([0, 0, 8, a.ndim]) + struct.pack(f'>{a.ndim}I', *a.shape) + a.astype(np.uint8).tobytes())
    write_idx(raw / 'train-images-idx3-ubyte.gz', np.random.default_rng(0).integers(0, 256, (100, 28, 28)))
    write_idx(raw / 'train-labels-idx1-ubyte.gz', np.arange(100) % 10)
    run_notebook('theory/theory.ipynb', tmp_path / 'exec', dict(n_train=50, n_samples=50, res=8, data=str(tmp_path / 'mnist'),
                 out_dir=str(tmp_path / 'out'), interactive=False))
    r = json.loads((tmp_path / 'out' / 'theory_results.json').read_text())
    assert r['data'] == 'mnist' and r['channels'] == 1 and r['memorization_ratio'] == 1.0
    c = r['checks']
    assert c['optimum_vs_loop_max_abs_err'] < 1e-12 and c['unique_labels_exact'] and c['random_label_optimum_memorization'] == 1.0
