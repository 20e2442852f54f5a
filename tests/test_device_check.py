"""The GPU check's dry run: `tools/gpu_check.sh --quick` runs bench/device_check.py on the CPU with only the first
CIFAR-10 chunk, as a GPU machine gets it; every section ends with its figures, each written as it is measured. The
test waits on events (the process's end, sections appearing in the JSON), never on a time budget."""
import importlib.util, json, math, os, subprocess, sys, time
import numpy as np
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
MODES = ('fp32', 'tf32', 'bf16', 'bf16+channels_last')
SECTIONS = ['train', 'eval', 'optimum', 'train_loss', 'gpu_run', 'packed', 'compile']

def device_check():
    "bench/device_check.py as a module."
    spec = importlib.util.spec_from_file_location('device_check', ROOT / 'bench' / 'device_check.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

def one_chunk(tmp_path, data_root) -> Path:
    "A CIFAR-10 folder with only its first chunk (5,000 images), as the GPU check carries it."
    d = tmp_path / 'cifar10'; d.mkdir(); (d / 'train_00.npz').symlink_to(data_root / 'train_00.npz')
    return d

def watch(path:Path, proc) -> list[dict]:
    "Every distinct content of the JSON while `proc` runs; each read parses (the file is only ever replaced whole)."
    seen = []
    while True:
        ended = proc.poll() is not None                  # read once more after the end
        if path.exists():
            d = json.loads(path.read_text())
            if not seen or d != seen[-1]: seen.append(d)
        if ended: return seen
        time.sleep(0.05)

def test_gpu_check_quick(tmp_path, data_root):
    out, data = tmp_path / 'out', one_chunk(tmp_path, data_root)
    env = {**os.environ, 'PYTHON': sys.executable, 'EMM_DATA': str(data), 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
    proc = subprocess.Popen(['bash', str(ROOT / 'tools' / 'gpu_check.sh'), '--quick', str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = watch(out / 'device_check.json', proc)
    log = proc.stdout.read()
    assert proc.returncode == 0, log[-4000:]
    assert f"wrote {out / 'device_check.json'}" in log and (out / 'gpu_check.log').read_text().count('device check on') == 1

    # written section by section: the finished sections grow in order, the later ones absent from the early files
    dones = [s['done'] for s in seen]
    assert all(d == SECTIONS[:len(d)] for d in dones) and dones[-1] == SECTIONS
    assert any('train' in s['done'] and 'gpu_run' not in s for s in seen), dones   # train on file before gpu_run began
    assert all('targets' not in s for s in seen[:-1])

    d = seen[-1]
    assert d['quick'] is True and d['machine']['device'] == 'cpu' and d['machine']['h100_class'] is False and d['running'] is None
    assert d['data']['source'] == 'cifar10, 5000 of 50,000 images' and d['data']['n_images'] == 5000
    problems = {k: v.get('error') or v.get('deadline') for k, v in d.items() if isinstance(v, dict) and ('error' in v or 'deadline' in v)}
    assert not problems, problems

    # 1. training throughput per mode, its ratio to fp32, the loss of the same steps beside fp32's
    t, lo = d['train'], d['train_loss']
    assert set(t['modes']) == set(MODES) and t['data'] == "the check's data"
    f32 = t['modes']['fp32']['img_per_s']
    for m in MODES:
        v, l = t['modes'][m], lo['modes'][m]
        assert v['img_per_s'] > 0 and math.isclose(v['ratio_to_fp32'], v['img_per_s'] / f32)
        assert l['finite'] and l['steps'] == lo['steps'] and l['fp32_loss_last10'] == lo['modes']['fp32']['loss_last10']
        assert math.isclose(l['loss_last10'], l['fp32_loss_last10'], rel_tol=0.05), (m, l)   # bf16 trains like fp32
    assert d['compile'] == {'skipped': '--no-compile', 'section_s': d['compile']['section_s'], 'deadline_s': None}   # no deadline in a dry run

    # 2. evaluation per precision (fp32 is the Trainer's path); the top-2 search against a reference larger than the data
    e = d['eval']
    assert e['nfe'] == 2 * e['steps'] - 1 and e['params'] > 0 and set(e['modes']) == {'fp32', 'tf32', 'bf16'}
    assert e['modes']['fp32']['trainer_path'] and not e['modes']['fp32']['autocast_bf16']
    for v in e['modes'].values(): assert v['sample_s'] > 0 and v['k_measured'] == e['k'] and not v['extrapolated']
    assert {k: v['n_real'] for k, v in e['nn'].items()} == {'100': 100, '1000': 1000} and set(e['total_s']) == set(e['modes'])

    # 3. the optimum memorizes every sample
    assert d['optimum']['ratio'] == 1.0 and d['optimum']['seconds'] > 0 and d['optimum']['n_real'] == 1000

    # 4. one gpu-preset run through the study's train_run into a cache, then read back from it
    g = d['gpu_run']
    assert g['preset'] == 'gpu' and g['precision'] == 'bf16' and g['epochs'] == 4 and g['from_cache_same'] is True
    assert [c['epoch'] for c in g['curve']] == [2.08, 4.0] and all(0 <= c['mem'] <= 1 for c in g['curve'])

    # 5. packed: one and two trainings of the gpu preset at once on the device, each its own process
    p = d['packed']['ks']
    assert set(p) == {'1', '2'} and p['1']['speedup'] == 1.0 and len(p['2']['per_run_img_per_s']) == 2
    assert all(v['img_per_s'] > 0 and v['window_s'] > 0 for v in p.values())

    # 6. the targets are judged, not applicable off an H100-class GPU
    assert set(d['targets']) == {'bf16_img_per_s', 'bf16_vs_fp32', 'eval_10k_s', 'optimum_s'}
    for v in d['targets'].values(): assert isinstance(v['met'], bool) and v['applies'] is False and v['value'] is not None

def test_deadline_stops_only_its_section(tmp_path):
    "A section past its deadline is stopped where it is (here an endless loop), keeps its figures and says so; the next ones run."
    dc = device_check()
    def endless(a, dev, src, out, rec, dl):
        out['first'] = 1; rec.save()
        while True: pass
    def failing(a, dev, src, out, rec, dl): raise ValueError('broken')
    def fine(a, dev, src, out, rec, dl): out['value'] = 2
    rec = dc.Record(tmp_path / 'check.json', dict(quick=True))
    a = SimpleNamespace(skip='', deadlines=dict(endless=0.2, failing=60., fine=60.))
    dc.run_sections(a, None, None, rec, dict(endless=endless, failing=failing, fine=fine))
    d = json.loads((tmp_path / 'check.json').read_text())
    assert d['done'] == ['endless', 'failing', 'fine'] and d['running'] is None
    assert d['endless']['first'] == 1 and d['endless']['deadline'] == 'stopped at its 0.2 s deadline' and d['endless']['section_s'] >= 0.2
    assert d['failing']['error'] == 'ValueError: broken' and d['fine']['value'] == 2 and 'deadline' not in d['fine']

def test_synthetic_chunk_without_data(tmp_path, monkeypatch):
    "No CIFAR-10 at all: one synthetic chunk stands in, written where the study's runs read their data."
    dc = device_check()
    monkeypatch.setenv('EMM_DATA', str(tmp_path / 'none'))
    (tmp_path / 'spare').mkdir()
    src, data = dc.source_images(None, tmp_path / 'spare')
    assert data['source'] == 'synthetic' and data['n_images'] == 5000 and os.environ['EMM_DATA'] == str(tmp_path / 'spare')
    from emm_nb.data import load_cifar10
    x, y = load_cifar10()                                                   # what Study's runs read
    assert (x == src[0]).all() and (y == src[1]).all() and (np.bincount(y) == 500).all()
    s, real = dc.subset_of(src, 500, 16)
    assert real and s.images_u8.shape == (500, 16, 16, 3) and (np.bincount(s.true_labels) == 50).all()
    assert dc.subset_of(src, 6000, 8)[1] is False                          # more than the chunk holds: random images
    y50, real = dc.images_of(src, 50_000, 32)
    assert y50.shape == (50_000, 32, 32, 3) and real == 5000 and (y50[:5000] == src[0]).all()
