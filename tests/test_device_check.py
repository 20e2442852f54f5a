"bench/device_check.py --quick runs every section end to end on the CPU and writes one JSON with every figure the GPU check reports."
import json, math, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ('fp32', 'tf32', 'bf16', 'bf16+channels_last', 'bf16+channels_last+compile')

def test_device_check_quick(tmp_path):
    out = tmp_path / 'check.json'
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
    r = subprocess.run([sys.executable, str(ROOT / 'bench' / 'device_check.py'), '--quick', '--out', str(out)],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert f'wrote {out}' in r.stdout
    d = json.loads(out.read_text())
    assert set(d) >= {'machine', 'date', 'quick', 'data', 'train', 'eval', 'optimum', 'gpu_run', 'train_loss', 'targets', 'wall_s'}
    assert d['quick'] is True and d['machine']['name'] and d['machine']['device'] == 'cpu' and d['machine']['h100_class'] is False
    assert d['data']['source'] in ('cifar10', 'synthetic')
    errors = {k: v['error'] for k, v in d.items() if isinstance(v, dict) and 'error' in v}
    assert not errors, errors

    # 1. training throughput per mode, ratio to fp32, and the loss after the same steps beside fp32's
    t = d['train']
    assert set(t['modes']) == set(MODES) and 'skipped' in t['modes']['bf16+channels_last+compile']   # no compile on a CPU
    f32 = t['modes']['fp32']['img_per_s']
    for m in MODES[:4]:
        v = t['modes'][m]
        assert v['img_per_s'] > 0 and math.isclose(v['ratio_to_fp32'], v['img_per_s'] / f32)
        lo = d['train_loss']['modes'][m]
        assert lo['finite'] and lo['steps'] == d['train_loss']['steps'] and lo['fp32_loss_last10'] == d['train_loss']['modes']['fp32']['loss_last10']
        assert math.isclose(lo['loss_last10'], lo['fp32_loss_last10'], rel_tol=0.05), (m, lo)   # bf16 trains like fp32
        assert v['loss_last10'] == lo['loss_last10']
    assert t['modes']['fp32']['precision'] == 'fp32' and t['modes']['bf16+channels_last']['channels_last'] is True

    # 2. evaluation: sampling per precision (fp32 is the Trainer's path), then the top-2 search against two sizes
    e = d['eval']
    assert e['nfe'] == 2 * e['steps'] - 1 and e['params'] > 0
    assert set(e['modes']) == {'fp32', 'tf32', 'bf16'} and e['modes']['fp32']['trainer_path'] and not e['modes']['fp32']['autocast_bf16']
    for v in e['modes'].values(): assert v['sample_s'] > 0 and 0 < v['k_measured'] <= e['k'] and v['extrapolated'] == (v['k_measured'] < e['k'])
    assert len(e['nn']) == 2 and all(v['seconds'] >= 0 and 0 <= v['ratio'] <= 1 for v in e['nn'].values())
    assert set(e['total_s']) == set(e['modes'])

    # 3. the optimum memorizes every sample
    o = d['optimum']
    assert o['seconds'] > 0 and o['ratio'] == 1.0 and o['dtype'] == 'float64'

    # 4. the gpu preset's configuration, run for a fixed time with snapshots
    g = d['gpu_run']
    assert g['preset'] == 'gpu' and g['config_source'] == 'Study(gpu).config', g['config_source']
    assert g['steps'] > 0 and len(g['curve']) >= 2 and all(0 <= c['mem'] <= 1 for c in g['curve'])
    assert [c['step'] for c in g['curve']] == sorted(c['step'] for c in g['curve']) and isinstance(g['rising'], bool)

    # 5. peak memory is reported per section (None on a CPU); the targets are judged, not applicable off an H100-class GPU
    for k in ('eval', 'optimum', 'gpu_run'): assert 'peak_mem_gib' in d[k]
    assert set(d['targets']) == {'bf16_img_per_s', 'bf16_vs_fp32', 'eval_10k_s', 'optimum_s'}
    for v in d['targets'].values(): assert isinstance(v['met'], bool) and v['applies'] is False and v['value'] is not None
