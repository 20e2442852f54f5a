"Data sources: every on-disk format written small into tmp_path, the fit rules, grayscale, subsets, digests and errors."
import gzip, pickle, struct, sys
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from emm_nb.data import DataError, cifar10_subset, resize
from emm_nb.sources import DATASETS, FIT_RULES, ImageSet, load_source, read_idx
from emm_nb.data import subset

RNG = np.random.default_rng(0)

# ---------------------------------------------------------------- writers of each format
def write_idx(path, a):
    raw = bytes([0, 0, 8, a.ndim]) + struct.pack(f'>{a.ndim}I', *a.shape) + np.asarray(a, np.uint8).tobytes()
    with (gzip.open if str(path).endswith('.gz') else open)(path, 'wb') as f: f.write(raw)

def make_mnist(root, sub='MNIST', n=30, gz=False, split='train'):
    raw = root/sub/'raw'; raw.mkdir(parents=True, exist_ok=True)
    pre, z = ('train' if split == 'train' else 't10k'), ('.gz' if gz else '')
    x, y = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 10
    write_idx(raw/f'{pre}-images-idx3-ubyte{z}', x); write_idx(raw/f'{pre}-labels-idx1-ubyte{z}', y)
    return x, y

def make_cifar100(root, n=200):
    py = root/'cifar-100-python'; py.mkdir(parents=True)
    x = RNG.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8); y = (np.arange(n) * 7) % 100
    for split in ('train', 'test'):
        with open(py/split, 'wb') as f:
            pickle.dump({'data': x.transpose(0, 3, 1, 2).reshape(n, -1), 'fine_labels': y.tolist(), 'coarse_labels': [0] * n}, f)
    with open(py/'meta', 'wb') as f: pickle.dump({'fine_label_names': [f'c{i:02d}' for i in range(100)]}, f)
    return x, y

def make_svhn(root, n=20):
    from scipy.io import savemat
    x = RNG.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8); y = np.arange(n) % 10 + 1       # 1..10, 10 = digit 0
    root.mkdir(parents=True, exist_ok=True)
    savemat(root/'train_32x32.mat', {'X': x.transpose(1, 2, 3, 0), 'y': y[:, None]})
    return x, y % 10

def make_celeba(root, n=6):
    base = root/'celeba'; (base/'img_align_celeba').mkdir(parents=True)
    for i in range(n):
        Image.fromarray(RNG.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(base/'img_align_celeba'/f'{i + 1:06d}.jpg')
    (base/'list_eval_partition.txt').write_text(''.join(f'{i + 1:06d}.jpg {[0, 0, 0, 1, 2, 0][i % 6]}\n' for i in range(n)))
    return base

def make_folder(root, classes=('cat', 'dog'), per=3, side=12, mode='RGB'):
    for c in classes:
        (root/c).mkdir(parents=True)
        for i in range(per):
            Image.fromarray(RNG.integers(0, 256, (side, side, 3), dtype=np.uint8)).convert(mode).save(root/c/f'{i}.png')
    return root

def make_flat(root, n=5, side=10, mode='RGB', sizes=None):
    root.mkdir(parents=True)
    for i in range(n):
        w, h = sizes[i] if sizes else (side, side)
        Image.fromarray(RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(mode).save(root/f'{i:02d}.png')
    return root

# ---------------------------------------------------------------- formats
@pytest.mark.parametrize('gz', [False, True])
@pytest.mark.parametrize('name,sub', [('mnist', 'MNIST'), ('Fashion-MNIST', 'FashionMNIST')])
def test_idx_formats(tmp_path, gz, name, sub):
    x, y = make_mnist(tmp_path, sub, gz=gz)
    s = load_source(name, tmp_path)
    assert s.images_u8.shape == (30, 28, 28, 1) and s.channels == 1 and s.res == 28
    assert np.array_equal(s.images_u8[..., 0], x) and np.array_equal(s.labels, y) and s.labels.dtype == np.int64
    assert s.n_classes == 10 and s.name in ('mnist', 'fashion_mnist') and len(s.classes) == 10
    if sub == 'FashionMNIST': assert s.classes[0] == 'T-shirt/top' and s.classes[9] == 'Ankle boot'
    assert load_source('MNIST' if sub == 'MNIST' else 'fashion_mnist', tmp_path, limit=7).images_u8.shape[0] == 7

def test_idx_test_split_and_names(tmp_path):
    x, _ = make_mnist(tmp_path, split='test', n=10)
    assert np.array_equal(load_source('mnist', tmp_path, split='test').images_u8[..., 0], x)
    assert DATASETS == ('cifar10', 'cifar100', 'mnist', 'fashion_mnist', 'svhn', 'celeba')
    make_mnist(tmp_path, 'FashionMNIST')
    for spec in ('FASHION_MNIST', 'fashion-mnist', 'FashionMnist'): assert load_source(spec, tmp_path).name == 'fashion_mnist'

def test_cifar100(tmp_path):
    x, y = make_cifar100(tmp_path)
    s = load_source('CIFAR-100', tmp_path)
    assert np.array_equal(s.images_u8, x) and np.array_equal(s.labels, y)
    assert s.n_classes == 100 and s.classes[:2] == ('c00', 'c01') and s.name == 'cifar100'
    assert load_source('cifar100', tmp_path, split='test').digest == s.digest

def test_svhn(tmp_path):
    pytest.importorskip('scipy', reason='SVHN .mat files need scipy (pip install scipy)')
    x, y = make_svhn(tmp_path)
    s = load_source('svhn', tmp_path)
    assert np.array_equal(s.images_u8, x) and np.array_equal(s.labels, y) and s.labels[9] == 0 and s.classes[0] == '0'

def test_svhn_without_scipy(tmp_path, monkeypatch):
    (tmp_path/'train_32x32.mat').write_bytes(b'x')
    monkeypatch.setitem(sys.modules, 'scipy.io', None)                              # import scipy.io fails
    with pytest.raises(DataError, match="needs scipy: pip install scipy"): load_source('svhn', tmp_path)

def test_celeba(tmp_path):
    make_celeba(tmp_path)
    with pytest.raises(DataError, match=r"images are 178x218, not square: pass size= and a fit rule"): load_source('celeba', tmp_path)
    tr = load_source('celeba', tmp_path, size=16)
    assert tr.images_u8.shape == (4, 16, 16, 3) and not tr.labelled and tr.n_classes == 0 and tr.classes is None
    assert len(load_source('celeba', tmp_path, split='valid', size=16)) == 1
    assert len(load_source('celeba', tmp_path, split='all', size=16, limit=5)) == 5
    first = np.asarray(Image.open(tmp_path/'celeba'/'img_align_celeba'/'000001.jpg').convert('RGB'))
    assert np.array_equal(load_source('celeba', tmp_path, size=178, limit=1).images_u8[0], first[20:198])   # central crop

def test_folder_with_classes(tmp_path):
    make_folder(tmp_path/'f', classes=('dog', 'cat', 'bird'), per=2)
    s = load_source(str(tmp_path/'f'))
    assert s.classes == ('bird', 'cat', 'dog') and s.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert s.name == f'folder:{(tmp_path/"f").absolute()}' and s.images_u8.shape == (6, 12, 12, 3)
    im = np.asarray(Image.open(tmp_path/'f'/'cat'/'1.png'))
    assert np.array_equal(s.images_u8[3], im)

def test_flat_and_grayscale_folders(tmp_path):
    flat = load_source(make_flat(tmp_path/'flat'))
    assert not flat.labelled and flat.labels is None and flat.images_u8.shape == (5, 10, 10, 3)
    g = load_source(make_flat(tmp_path/'gray', mode='L'))
    assert g.channels == 1 and g.images_u8.shape == (5, 10, 10, 1)
    assert np.array_equal(g.images_u8[2, ..., 0], np.asarray(Image.open(tmp_path/'gray'/'02.png')))
    assert load_source(make_flat(tmp_path/'bw', mode='1')).channels == 1
    Image.fromarray(np.full((10, 10), 257 * 100, np.uint16)).save(tmp_path/'gray'/'16bit.png')  # 16-bit gray
    g16 = load_source(tmp_path/'gray')
    assert g16.channels == 1 and set(g16.images_u8[5].ravel()) == {100}            # scaled by 1/257, not clipped to 255
    Image.fromarray(RNG.integers(0, 256, (10, 10, 3), dtype=np.uint8)).save(tmp_path/'gray'/'zz.png')
    mixed = load_source(tmp_path/'gray')                                              # one colour file: all RGB
    assert mixed.channels == 3 and np.array_equal(mixed.images_u8[1, ..., 0], mixed.images_u8[1, ..., 2])

def test_channels_conversion(tmp_path):
    make_mnist(tmp_path)
    m = load_source('mnist', tmp_path)
    m3 = load_source('mnist', tmp_path, channels=3)
    assert m3.channels == 3 and all(np.array_equal(m3.images_u8[..., i], m.images_u8[..., 0]) for i in range(3))
    f = load_source(make_folder(tmp_path/'f'), channels=1)
    im = Image.open(tmp_path/'f'/'cat'/'0.png').convert('L')
    assert f.channels == 1 and np.array_equal(f.images_u8[0, ..., 0], np.asarray(im))
    assert subset(m, 10, res=16).images.shape == (10, 1, 16, 16)                       # grayscale end to end

# ---------------------------------------------------------------- fit rules and the digest
def test_fit_rules(tmp_path):
    x, _ = make_mnist(tmp_path)
    p = load_source('mnist', tmp_path, size=32, fit='pad').images_u8[..., 0]
    assert p.shape == (30, 32, 32) and np.array_equal(p[:, 2:30, 2:30], x)
    assert p[:, :2].max() == 0 and p[:, 30:].max() == 0 and p[:, :, :2].max() == 0 and p[:, :, 30:].max() == 0
    c = load_source('mnist', tmp_path, size=14).images_u8
    assert np.array_equal(c, resize(x[..., None], 14))                                 # crop of a square = Lanczos
    make_flat(tmp_path/'wide', n=2, sizes=[(30, 10), (30, 10)])
    w = {f: load_source(tmp_path/'wide', size=10, fit=f).images_u8 for f in FIT_RULES}
    src = np.asarray(Image.open(tmp_path/'wide'/'00.png'))
    assert np.array_equal(w['crop'][0], src[:, 10:20])                                 # central square, no resampling
    want = np.asarray(Image.fromarray(src).resize((10, 10), Image.LANCZOS))
    assert np.array_equal(w['resize'][0], want)
    pad = np.zeros((30, 30, 3), np.uint8); pad[10:20] = src
    assert np.array_equal(w['pad'][0], np.asarray(Image.fromarray(pad).resize((10, 10), Image.LANCZOS)))
    with pytest.raises(DataError, match=r"unknown fit rule 'fill': use one of \('crop', 'resize', 'pad'\)"):
        load_source('mnist', tmp_path, size=32, fit='fill')

def test_digest(tmp_path):
    make_mnist(tmp_path)
    a, b = load_source('mnist', tmp_path), load_source('mnist', tmp_path)
    assert a.digest == b.digest and len(a.digest) == 12 and int(a.digest, 16) >= 0
    x = a.images_u8.copy(); x[3, 4, 5, 0] ^= 1
    assert ImageSet(x, a.labels, a.classes, 'mnist').digest != a.digest
    assert ImageSet(a.images_u8, (a.labels + 1) % 10, a.classes, 'mnist').digest != a.digest
    assert ImageSet(a.images_u8, None, None, 'other name').digest != a.digest         # labels count, the name does not
    assert ImageSet(a.images_u8, a.labels, a.classes, 'other name').digest == a.digest

# ---------------------------------------------------------------- subsets
def test_subset_rules_labelled(tmp_path):
    x, y = make_cifar100(tmp_path, n=200)                                               # 2 images per class
    s = load_source('cifar100', tmp_path)
    sub = subset(s, 20, classes=10, labels='true')
    assert sub.indices.tolist() == [i for i in range(200) if y[i] < 10] and sub.n_classes == 10
    assert np.array_equal(sub.images_u8, x[sub.indices]) and sub.source == 'cifar100'
    assert sorted(np.bincount(sub.labels).tolist()) == [2] * 10
    assert len(subset(s, 100)) == 100 and np.bincount(subset(s, 100).true_labels).tolist() == [1] * 100
    assert subset(s, 4, classes=[3, 5], seed=1).true_labels.tolist() in ([3, 3, 5, 5], [3, 5, 3, 5], [5, 3, 5, 3], [3, 5, 5, 3], [5, 3, 3, 5], [5, 5, 3, 3])
    r = subset(s, 100, labels='random', label_classes=4, label_seed=2)
    assert r.n_classes == 4 and set(r.labels.tolist()) <= {0, 1, 2, 3}
    assert subset(s, 100, labels='unique').labels.tolist() == list(range(100))
    assert subset(s, 100, res=8).images_u8.shape == (100, 8, 8, 3)

def test_subset_rules_unlabelled(tmp_path):
    s = load_source(make_flat(tmp_path/'flat', n=8))
    assert subset(s, 3).indices.tolist() == [0, 1, 2] and subset(s, 3).labels is None
    d = subset(s, 4, seed=3)
    assert d.indices.tolist() == sorted(d.indices.tolist()) and np.array_equal(d.indices, subset(s, 4, seed=3).indices)
    assert d.true_labels.tolist() == [-1] * 4 and d.source == s.name
    assert subset(s, 5, labels='random').n_classes == 10 and subset(s, 5, labels='unique').n_classes == 5
    for kw in (dict(classes=2), dict(labels='true')):
        with pytest.raises(DataError, match=f"folder:{tmp_path}/flat has no labels"): subset(s, 4, **kw)

# ---------------------------------------------------------------- errors
def test_errors_names_and_folders(tmp_path):
    with pytest.raises(DataError, match=r"unknown data set 'imagenet': use one of cifar10, cifar100, mnist, fashion_mnist, svhn, celeba .* or the path of an image folder"):
        load_source('imagenet')
    (tmp_path/'empty').mkdir(); (tmp_path/'empty'/'notes.txt').write_text('x')
    with pytest.raises(DataError, match=r"no images \(.png, .jpg.*\) under .*empty"): load_source(tmp_path/'empty')
    make_flat(tmp_path/'mixed', n=3, sizes=[(10, 10), (10, 10), (12, 12)])
    with pytest.raises(DataError, match=r"images of different sizes \(10x10 00.png, 12x12 02.png\): pass size="): load_source(tmp_path/'mixed')
    assert load_source(tmp_path/'mixed', size=8).images_u8.shape == (3, 8, 8, 3)
    make_flat(tmp_path/'tall', n=2, sizes=[(10, 14)] * 2)
    with pytest.raises(DataError, match=r"images are 10x14, not square: pass size="): load_source(tmp_path/'tall')
    make_folder(tmp_path/'both'); make_flat(tmp_path/'both'/'loose')
    Image.fromarray(np.zeros((12, 12, 3), np.uint8)).save(tmp_path/'both'/'top.png')
    with pytest.raises(DataError, match=r"holds images at its top level \(top.png\) and in class subfolders"): load_source(tmp_path/'both')
    with pytest.raises(DataError, match="an image folder has no splits"): load_source(tmp_path/'mixed', split='test')

def test_errors_missing_and_options(tmp_path):
    for name, what in [('mnist', 'train-images-idx3-ubyte\\[.gz\\], train-labels-idx1-ubyte\\[.gz\\]'), ('cifar100', 'train, test, meta'),
                       ('svhn', 'train_32x32.mat'), ('celeba', 'img_align_celeba/\\*.jpg, list_eval_partition.txt')]:
        with pytest.raises(DataError, match=f"no {name} found in {tmp_path}.* \\(expected {what}\\); pass root=, set EMM_DATASETS"):
            load_source(name, tmp_path)
    with pytest.raises(DataError, match=r"unknown split 'val' for mnist: use one of \('train', 'test'\)"): load_source('mnist', tmp_path, split='val')
    with pytest.raises(DataError, match="channels must be None"): load_source('mnist', tmp_path, channels=2)
    with pytest.raises(DataError, match="size must be a positive integer"): load_source('mnist', tmp_path, size=0)

def test_errors_subset_sizes(tmp_path):
    make_cifar100(tmp_path, n=200)
    s = load_source('cifar100', tmp_path)
    with pytest.raises(DataError, match="N=300 is more than the 200 images of cifar100"): subset(s, 300)
    with pytest.raises(DataError, match="N=30 needs 3 images of class 0, the data has 2"): subset(s, 30, classes=10)
    with pytest.raises(DataError, match="C=101 classes asked for, cifar100 has 100"): subset(s, 101, classes=101)
    with pytest.raises(DataError, match="not divisible by the class count C=100"): subset(s, 150)
    f = load_source(make_flat(tmp_path/'flat', n=4))
    with pytest.raises(DataError, match=r"N=5 is more than the 4 images of folder:"): subset(f, 5)

def _truncate(f, keep=0.5):
    b = Path(f).read_bytes(); Path(f).write_bytes(b[:int(len(b) * keep)])

@pytest.mark.parametrize('gz', [False, True])
def test_errors_corrupt_idx(tmp_path, gz):
    make_mnist(tmp_path, gz=gz)
    f = tmp_path/'MNIST'/'raw'/('train-images-idx3-ubyte' + ('.gz' if gz else ''))
    _truncate(f)
    with pytest.raises(DataError, match=f"{f}: corrupt or truncated file"): load_source('mnist', tmp_path)
    f.write_bytes(gzip.compress(b'garbage!' * 10) if gz else b'garbage!' * 10)
    with pytest.raises(DataError, match=f"{f}: corrupt file, not an idx file"): read_idx(f)
    make_mnist(tmp_path, n=30, gz=gz)
    lab = tmp_path/'MNIST'/'raw'/('train-labels-idx1-ubyte' + ('.gz' if gz else ''))
    write_idx(lab, np.arange(29) % 10)
    with pytest.raises(DataError, match=f"{lab} holds 29 labels for the 30 images of"): load_source('mnist', tmp_path)

def test_errors_corrupt_cifar100(tmp_path):
    make_cifar100(tmp_path, n=20)
    f = tmp_path/'cifar-100-python'/'train'
    _truncate(f)
    with pytest.raises(DataError, match=f"{f}: corrupt or truncated file"): load_source('cifar100', tmp_path)
    with open(f, 'wb') as fh: pickle.dump({'data': np.zeros((20, 3072), np.uint8), 'fine_labels': [0] * 19}, fh)
    with pytest.raises(DataError, match=f"{f} holds 19 fine labels for 20 images"): load_source('cifar100', tmp_path)

def test_errors_corrupt_svhn(tmp_path):
    pytest.importorskip('scipy', reason='SVHN .mat files need scipy (pip install scipy)')
    from scipy.io import savemat
    make_svhn(tmp_path)
    f = tmp_path/'train_32x32.mat'
    _truncate(f)
    with pytest.raises(DataError, match=f"{f}: corrupt or truncated file"): load_source('svhn', tmp_path)
    savemat(f, {'X': np.zeros((32, 32, 3, 5), np.uint8), 'y': np.ones((4, 1))})
    with pytest.raises(DataError, match=f"{f} holds 4 labels in y for 5 images in X"): load_source('svhn', tmp_path)

def test_errors_corrupt_celeba(tmp_path):
    base = make_celeba(tmp_path)
    (base/'list_eval_partition.txt').write_text('000001.jpg 0\n')
    with pytest.raises(DataError, match="list_eval_partition.txt lists 1 images, .*img_align_celeba holds 6 .jpg files"):
        load_source('celeba', tmp_path, size=8)
    make_celeba(tmp_path/'b')
    f = tmp_path/'b'/'celeba'/'img_align_celeba'/'000002.jpg'
    _truncate(f, 0.3)
    with pytest.raises(DataError, match=f"{f}: unreadable or corrupt image"): load_source('celeba', tmp_path/'b', size=8)

@pytest.mark.parametrize('how', ['truncated', 'garbage'])
def test_errors_corrupt_folder_image(tmp_path, how):
    make_folder(tmp_path/'f')
    f = tmp_path/'f'/'dog'/'1.png'
    _truncate(f) if how == 'truncated' else f.write_bytes(b'not a png at all')
    with pytest.raises(DataError, match=f"{f}: unreadable or corrupt image"): load_source(tmp_path/'f')

def test_imageset_checks():
    x = np.zeros((4, 8, 8, 1), np.uint8)
    with pytest.raises(DataError, match="t: 3 labels for 4 images"): ImageSet(x, np.zeros(3), None, 't')
    with pytest.raises(DataError, match="outside 0..1 of its 2 class names"): ImageSet(x, np.arange(4), ('a', 'b'), 't')
    with pytest.raises(DataError, match=r"images must be uint8 \[n,h,w,c\] with c = 1 \(grayscale\) or 3"): ImageSet(x[..., [0, 0]], None, None, 't')
    with pytest.raises(DataError, match="not square"): ImageSet(x[:, :6], None, None, 't')

def test_download_uses_torchvision_only_to_fetch(tmp_path, monkeypatch):
    tvd = pytest.importorskip('torchvision.datasets')
    calls = []
    def fake_mnist(root, train, download):
        calls.append((root, train, download)); make_mnist(Path(root), n=10)
    monkeypatch.setattr(tvd, 'MNIST', fake_mnist)
    assert len(load_source('mnist', tmp_path, download=True)) == 10 and calls == [(str(tmp_path), True, True)]
    def failing(*a, **k): raise RuntimeError('network unreachable')
    monkeypatch.setattr(tvd, 'CIFAR100', failing)
    with pytest.raises(DataError, match=f"downloading cifar100 into {tmp_path} failed \\(RuntimeError: network unreachable\\)"):
        load_source('cifar100', tmp_path, download=True)

# ---------------------------------------------------------------- CIFAR-10: the study's numbers do not move
@pytest.fixture(scope='module')
def cifar10(data_root): return load_source('cifar10', data_root)

@pytest.mark.parametrize('res', [8, 32])
@pytest.mark.parametrize('kw', [dict(), dict(labels='true', classes=2), dict(labels='random', label_classes=5, label_seed=1), dict(seed=3)])
def test_cifar10_equals_cifar10_subset(cifar10, data_root, res, kw):
    a, b = subset(cifar10, 100, res=res, **kw), cifar10_subset(100, res=res, root=data_root, **kw)
    for k in ('images_u8', 'indices', 'true_labels'): assert np.array_equal(getattr(a, k), getattr(b, k)), k
    assert (a.labels is None and b.labels is None) or np.array_equal(a.labels, b.labels)
    assert a.n_classes == b.n_classes and a.source == b.source == 'cifar10'
    assert cifar10.classes[3] == 'cat' and cifar10.images_u8.shape == (50000, 32, 32, 3)

def test_hidden_entries_skipped(tmp_path):
    make_folder(tmp_path/'f')
    (tmp_path/'f'/'.ipynb_checkpoints').mkdir(); Image.fromarray(np.zeros((12, 12, 3), np.uint8)).save(tmp_path/'f'/'.ipynb_checkpoints'/'x.png')
    Image.fromarray(np.zeros((12, 12, 3), np.uint8)).save(tmp_path/'f'/'cat'/'.hidden.png')
    s = load_source(tmp_path/'f')
    assert s.classes == ('cat', 'dog') and len(s) == 6
    (tmp_path/'h'/'.cache').mkdir(parents=True); Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path/'h'/'.cache'/'x.png')
    with pytest.raises(DataError, match="no images under .* outside hidden folders"): load_source(tmp_path/'h')
