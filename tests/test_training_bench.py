"The training benchmark runs end to end at toy sizes on a CPU (the full measurement needs a GPU)."
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def test_bench_quick(data_root, tmp_path):
    out = tmp_path/'bench.json'
    r = subprocess.run([sys.executable, str(ROOT/'bench'/'train.py'), '--quick', '--no-compile', '--precisions', 'fp32',
                        '--steps', '2', '--eval-samples', '8', '--ref-n', '100', '--out', str(out)],
                       env={**os.environ, 'PYTHONPATH': str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'img/s' in r.stdout and 'top-2 NN among 100' in r.stdout
    res = json.loads(out.read_text())
    assert res['train']['fp32']['img_per_s'] > 0 and res['eval']['k'] == 8 and res['eval']['nfe'] == 35


def test_bench_cpu_preset(data_root, tmp_path):
    "The cpu preset's fp32-vs-bf16 throughput comparison runs and reports both resolutions with their ratio."
    out = tmp_path/'cpu.json'
    r = subprocess.run([sys.executable, str(ROOT/'bench'/'train.py'), '--cpu-preset', '--device', 'cpu', '--steps', '1', '--out', str(out)],
                       env={**os.environ, 'PYTHONPATH': str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('bf16 is') == 2
    res = json.loads(out.read_text())
    assert set(res) == {'8x8', '16x16'}
    for v in res.values(): assert v['fp32'] > 0 and v['bf16'] > 0 and abs(v['ratio'] - v['bf16'] / v['fp32']) < 1e-9
