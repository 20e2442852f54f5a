"The training benchmark runs end to end at toy sizes on a CPU (the full measurement needs a GPU)."
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def test_bench_quick(data_root, tmp_path):
    out = tmp_path/'bench.json'
    r = subprocess.run([sys.executable, str(ROOT/'bench'/'train.py'), '--quick', '--no-compile', '--precisions', 'fp32',
                        '--steps', '2', '--eval-samples', '8', '--ref-n', '100', '--out', str(out)],
                       env={**os.environ, 'PYTHONPATH': str(ROOT)}, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'img/s' in r.stdout and 'top-2 NN among 100' in r.stdout
    res = json.loads(out.read_text())
    assert res['train']['fp32']['img_per_s'] > 0 and res['eval']['k'] == 8 and res['eval']['nfe'] == 35


def test_bench_cpu_preset(data_root, tmp_path):
    "Today's cpu configuration against a candidate, interleaved in one process: both resolutions with their ratio, and the profile."
    out = tmp_path/'cpu.json'
    r = subprocess.run([sys.executable, str(ROOT/'bench'/'train.py'), '--cpu-preset', '--device', 'cpu', '--steps', '1', '--reps', '2',
                        '--profile', '--out', str(out)], env={**os.environ, 'PYTHONPATH': str(ROOT)}, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('new is') == 2 and 'convolution' in r.stdout         # two resolutions, then the profile's top ops
    res = json.loads(out.read_text())
    assert {'8x8', '16x16'} <= set(res) and res['today']['batch'] == 64
    for k in ('8x8', '16x16'):
        v = res[k]; assert len(v['today']) == len(v['new']) == 2 and all(x > 0 for x in v['today'] + v['new']) and v['ratio'] > 0
