"""The `emm_memorization` test on real CIFAR-10: perturbed copies of training images are all memorized, held-out
images of the same data set are not; the command end to end, and each bad input ending in its one-line message.
The images are written into pytest's temporary folders only."""
import json, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from emm_nb.data import load_cifar10
from emm_nb.score import ScoreError, main, read_samples, score_samples
from emm_nb.sources import load_source

ROOT = Path(__file__).resolve().parent.parent
N_TRAIN, K = 300, 48


def save_pngs(images, folder, prefix='img'):
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(images): Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(folder/f'{prefix}_{i:04d}.png')
    return folder


def sq_dists(x, y):
    "Exact squared L2 distances [len(x), len(y)] of uint8 images (float64 products of integers below 2^53)."
    a, b = x.reshape(len(x), -1).astype(np.float64), y.reshape(len(y), -1).astype(np.float64)
    return (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None]


def perturb(images, n_pixels=12, amount=10, seed=0):
    "Copies with `n_pixels` pixel values per image moved by +-`amount` (away from the clipping edge)."
    rng = np.random.default_rng(seed)
    out = images.astype(np.int64).reshape(len(images), -1)
    for row in out:
        idx = rng.choice(row.size, n_pixels, replace=False)
        row[idx] = np.where(row[idx] >= 128, row[idx] - amount, row[idx] + amount)
    return out.reshape(images.shape).astype(np.uint8)


@pytest.fixture(scope='module')
def cifar(data_root, tmp_path_factory):
    "A CIFAR-10 training folder of N_TRAIN PNGs, K perturbed copies of its images and K held-out test images."
    x, _ = load_cifar10(data_root)
    xt, _ = load_cifar10(data_root, split='test')
    tmp = tmp_path_factory.mktemp('score')
    train = x[:N_TRAIN]
    picked = np.arange(0, N_TRAIN, N_TRAIN // K)[:K]
    copies = perturb(train[picked])
    return dict(tmp=tmp, train=train, train_dir=save_pngs(train, tmp/'train'), picked=picked, copies=copies,
                copies_dir=save_pngs(copies, tmp/'copies'), heldout=xt[:K], heldout_dir=save_pngs(xt[:K], tmp/'heldout'))


def run(*args):
    "main(args) -> (exit status, stdout, stderr)."
    import contextlib, io
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main([str(a) for a in args] + ['--device', 'cpu'])
    return rc, out.getvalue(), err.getvalue()


def error(*args):
    "The one-line message of a run that must fail with exit status 2."
    rc, out, err = run(*args)
    assert rc == 2 and out == '' and err.count('\n') == 1 and err.startswith('emm_memorization: error: '), (rc, out, err)
    return err


def test_perturbation_is_below_the_rule(cifar):
    "The copies really differ from their originals, and by less than a third of the distance to any other training image."
    d = sq_dists(cifar['copies'], cifar['train'])
    own = d[np.arange(K), cifar['picked']]
    d[np.arange(K), cifar['picked']] = np.inf
    assert (own > 0).all()
    assert (9 * own < d.min(1)).all()                      # d1/d2 < 1/3, squared: 9 d1^2 < d2^2
    assert np.sqrt(own / d.min(1)).max() < 0.1             # with a wide margin


def test_copies_memorized_heldout_not(cifar):
    train = load_source(str(cifar['train_dir']))
    np.testing.assert_array_equal(train.images_u8, cifar['train'])           # the PNG round trip is lossless
    s = score_samples(read_samples(cifar['copies_dir']), train, device='cpu')
    assert s.ratio == 1.0 and s.n_memorized == K and s.lo > 0.9
    np.testing.assert_array_equal(s.nn[:, 0], cifar['picked'])
    np.testing.assert_allclose(s.d1, np.sqrt(sq_dists(cifar['copies'], cifar['train'])[np.arange(K), cifar['picked']]))
    h = score_samples(read_samples(cifar['heldout_dir']), train, device='cpu')
    assert h.ratio <= 1 / K and h.hi < 0.15 and (h.d1 > 0).all()
    assert h.knn_mean > 10 * s.knn_mean                   # new images are far from the training set, copies are not
    assert (h.nn_ratio > s.nn_ratio.max()).mean() > 0.95


def test_cli_end_to_end(cifar):
    out = cifar['tmp']/'out'
    rc, line, err = run('--samples', cifar['copies_dir'], '--train', cifar['train_dir'], '--out', out, '--show', 6)
    assert (rc, err) == (0, '') and line.count('\n') == 1
    assert line.startswith('memorized 100.0 % [') and f'of {K} samples' in line and f'N={N_TRAIN} training images at 32x32x3' in line
    rec = json.loads((out/'result.json').read_text())
    assert sorted(p.name for p in out.iterdir()) == ['most_copied.png', 'result.json']          # no temporary files left
    assert rec['summary']['n_memorized'] == K and rec['summary']['memorized_ratio'] == 1.0 and rec['summary']['line'] == line.strip()
    assert rec['samples']['name'][:2] == ['img_0000.png', 'img_0001.png'] and rec['samples']['nn1'] == cifar['picked'].tolist()
    assert rec['inputs']['train'] == str(cifar['train_dir']) and len(rec['inputs']['train_digest']) == 12
    with Image.open(out/'most_copied.png') as im: assert im.size[0] > 400
    rc, line, _ = run('--samples', cifar['heldout_dir'], '--train', cifar['train_dir'], '--out', out)   # overwrites
    assert rc == 0 and line.startswith('memorized 0.0 % [0.0, ')
    assert json.loads((out/'result.json').read_text())['summary']['n_memorized'] == 0


def test_named_data_set_and_arrays(cifar, data_root):
    "--train cifar10 searches all 50,000 training images; samples as one guided-diffusion-style .npz (arr_0, arr_1)."
    x, _ = load_cifar10(data_root)
    idx = np.arange(1000, 50000, 3000)
    copies = perturb(x[idx], seed=1)
    d = sq_dists(copies, x)
    own = d[np.arange(len(idx)), idx].copy(); d[np.arange(len(idx)), idx] = np.inf
    assert (own > 0).all() and (9 * own < d.min(1)).all()
    f = cifar['tmp']/'arrays'/'samples_32x32x3.npz'; f.parent.mkdir()
    np.savez(f, arr_0=np.concatenate([copies, cifar['heldout'][:len(idx)]]), arr_1=np.zeros(2 * len(idx), np.int64))
    rc, line, err = run('--samples', f, '--train', 'cifar10', '--root', data_root, '--out', cifar['tmp']/'named')
    assert rc == 0, err
    assert line.startswith('memorized 50.0 % [') and 'N=50,000 training images' in line
    rec = json.loads((cifar['tmp']/'named'/'result.json').read_text())
    assert rec['samples']['nn1'][:len(idx)] == idx.tolist() and rec['samples']['name'][0] == 'samples_32x32x3.npz[0]'


def test_errors(cifar):
    tmp = cifar['tmp']
    (tmp/'empty').mkdir()
    assert 'no samples (.png' in error('--samples', tmp/'empty', '--train', cifar['train_dir'])
    assert 'do not exist' in error('--samples', tmp/'nowhere', '--train', cifar['train_dir'])
    bad = save_pngs(cifar['copies'][:3], tmp/'corrupt')
    (bad/'img_0001.png').write_bytes((bad/'img_0001.png').read_bytes()[:60])                  # truncated
    assert f"{bad/'img_0001.png'}: unreadable or corrupt image" in error('--samples', bad, '--train', cifar['train_dir'])
    small = save_pngs(cifar['copies'][:4, ::2, ::2], tmp/'small')
    msg = error('--samples', small, '--train', cifar['train_dir'])
    assert 'samples are 16x16 pixels, the training images 32x32' in msg and '--size 32' in msg
    gray = save_pngs(cifar['copies'][:4, ..., :1], tmp/'gray')
    msg = error('--samples', gray, '--train', cifar['train_dir'])
    assert 'samples have 1 channel (grayscale), the training images 3 (RGB): convert with --channels 3' in msg
    assert run('--samples', gray, '--train', cifar['train_dir'], '--channels', '1')[0] == 0        # the fix works
    assert run('--samples', small, '--train', cifar['train_dir'], '--size', '16')[0] == 0
    (tmp/'no_train').mkdir()
    msg = error('--samples', cifar['copies_dir'], '--train', tmp/'no_train')                      # an empty training folder
    assert 'no images' in msg and str(tmp/'no_train') in msg
    np.save(tmp/'float.npy', cifar['copies'].astype(np.float32) / 127.5 - 1)
    assert 'float.npy: float32 array, expected uint8' in error('--samples', tmp/'float.npy', '--train', cifar['train_dir'])
    with pytest.raises(ScoreError, match='the training set is empty'): score_samples(cifar['copies'], cifar['train'][:0])
    with pytest.raises(ScoreError, match='no samples to test'): score_samples(cifar['copies'][:0], cifar['train'])


def test_module_entry_point_no_traceback(cifar):
    "`python -m emm_nb.score` (what the console script runs) exits 2 with one line on stderr, no traceback."
    r = subprocess.run([sys.executable, '-m', 'emm_nb.score', '--samples', str(cifar['tmp']/'nowhere'), '--train', 'cifar10'],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and r.stdout == '' and 'Traceback' not in r.stderr and r.stderr.count('\n') == 1, r.stderr
    assert r.stderr.startswith('emm_memorization: error: samples ') and 'do not exist' in r.stderr
