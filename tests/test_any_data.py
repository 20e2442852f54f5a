"""The study on data sets other than CIFAR-10 (issue "Any data set"): `emm_study` on an MNIST-format folder and on an
image folder, data identity in the run ids, and the request errors, each asserting its message."""
import gzip, json, shutil, struct, sys
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from emm_nb.runner import main
from emm_nb.study import Study, study_data


def write_idx(path, a):
    "A uint8 array as a gzip-compressed idx file (MNIST's format)."
    with gzip.open(path, 'wb') as f: f.write(bytes([0, 0, 8, a.ndim]) + struct.pack(f'>{a.ndim}I', *a.shape) + a.astype(np.uint8).tobytes())


@pytest.fixture(scope='module')
def mnist_dir(tmp_path_factory) -> Path:
    "An MNIST-format folder (train and test splits, 10 classes of grayscale 28x28 images with a class-dependent bar)."
    d = tmp_path_factory.mktemp('mnist_layout'); raw = d / 'MNIST' / 'raw'; raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (('train', 200), ('t10k', 100)):
        lab = np.arange(n) % 10
        x = rng.integers(0, 60, (n, 28, 28))
        for i, c in enumerate(lab): x[i, 4 + 2 * c:10 + 2 * c, 6:22] += 150
        write_idx(raw / f'{split}-images-idx3-ubyte.gz', np.clip(x, 0, 255)); write_idx(raw / f'{split}-labels-idx1-ubyte.gz', lab)
    return d


@pytest.fixture(scope='module')
def flat_dir(tmp_path_factory) -> Path:
    "An unlabelled image folder of 60 non-square RGB PNGs (24x20)."
    d = tmp_path_factory.mktemp('flat')
    rng = np.random.default_rng(1)
    for i in range(60): Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(d / f'img_{i:03d}.png')
    return d


def results(out: Path) -> dict:
    return {f.parent.name: json.loads(f.read_text()) for f in out.glob('*/results.json')}


def test_smoke_study_on_mnist_format_folder(mnist_dir, tmp_path):
    "Experiments run on a labelled grayscale set (pages no other test runs, one of them needing labels); the CIFAR-10 mix, asked for by name, is refused; pages, summary and runs name the data; nets are 1-channel."
    out = tmp_path / 'out'
    assert main(['--preset', 'smoke', '--data', str(mnist_dir), '--factors', 'intra_diversity', '--out', str(out)]) == 2
    assert not any(out.glob('runs/*/result.json'))
    assert main(['--preset', 'smoke', '--data', str(mnist_dir), '--factors', 'classes,depth,time_embedding,batch', '--out', str(out)]) == 0
    res = results(out)
    assert set(res) == {'classes', 'depth', 'time_embedding', 'batch'}
    assert {r['data'] for r in res.values()} == {'mnist'}
    assert json.loads((out / 'status.json').read_text())['data'] == 'mnist'
    assert 'Data: mnist.' in (out / 'summary.ipynb').read_text()
    import torch
    for run in (out / 'runs').iterdir():
        cfg = json.loads((run / 'config.json').read_text())
        assert cfg['data']['name'] == 'mnist' and cfg['data']['channels_of_images'] == 1
    ck = torch.load(next((out / 'runs').glob('*/train/checkpoint.pt')), map_location='cpu', weights_only=False)
    assert ck['net_kwargs']['in_channels'] == ck['net_kwargs']['out_channels'] == 1


def test_smoke_study_on_image_folder(flat_dir, tmp_path):
    "An unlabelled folder of non-square images, brought to 16x16 by centre crop: its experiments run; label experiments are refused."
    out = tmp_path / 'out'
    assert main(['--preset', 'smoke', '--data', str(flat_dir), '--data-size', '16', '--factors', 'label_classes,weight_decay,gap,els',
                 '--out', str(out)]) == 0
    res = results(out)
    assert set(res) == {'label_classes', 'weight_decay', 'gap', 'els'} and {r['data'] for r in res.values()} == {str(flat_dir)}
    cfg = json.loads(next((out / 'runs').glob('*/config.json')).read_text())
    assert cfg['data']['name'] == f'folder:{flat_dir}' and cfg['data']['size'] == 16 and cfg['classes'] is None
    # the README's results table is written from a study's results (tools/save_outputs.py), the rest of the page kept
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'tools'))
    from save_outputs import readme_table
    from emm_nb.report import brief_table, load_results
    home = tmp_path / 'index.ipynb'; shutil.copy(Path(__file__).resolve().parent.parent / 'nbs' / 'index.ipynb', home)
    before = [''.join(c['source']) for c in json.loads(home.read_text())['cells']]
    assert readme_table(out, home)
    after = [''.join(c['source']) for c in json.loads(home.read_text())['cells']]
    table = brief_table(load_results(out))
    changed = [k for k, (a, b) in enumerate(zip(before, after)) if a != b]
    assert len(changed) == 1 and table in after[changed[0]] and len(before) == len(after)
    assert [l for l in after[changed[0]].split('\n') if l.startswith('| ')][1:] == table.split('\n')[2:]   # only the new rows
    assert '| weight decay |' in table and '| gap |' not in table                 # gap and ELS have no EMM row: prose only
    strip = lambda t: [l for l in t.split('\n') if not l.startswith('|')]
    assert strip(before[changed[0]]) == strip(after[changed[0]])                 # every other line of the cell kept


def test_data_identity_in_run_ids(mnist_dir, tmp_path):
    "CIFAR-10 runs keep their ids; another data set, or the same folder loaded by another rule, gets other ids."
    cifar, mn = Study('smoke', tmp_path), Study('smoke', tmp_path, data=str(mnist_dir))
    assert 'data' not in cifar.config(20) and study_data('cifar10') is None
    padded = Study('smoke', tmp_path, data=dict(spec=str(mnist_dir), size=32, fit='pad'))
    assert len({cifar.cache.id(cifar.config(20)), mn.cache.id(mn.config(20)), padded.cache.id(padded.config(20))}) == 3
    assert Study('cpu', tmp_path).cache.id(Study('cpu', tmp_path).config(50)) == 'res8-n50-labelsnone-75d13cbd7d8b'


@pytest.mark.parametrize('args, message', [
    (['--data', 'imagenet_21k'], "unknown data set 'imagenet_21k'"),
    (['--data', '{flat}', '--data-size', '16', '--factors', 'conditioning'], 'conditioning needs class labels'),
    (['--data', '{mnist}', '--factors', 'intra_diversity'], 'runs on CIFAR-10 only'),
    (['--data', '{empty}'], 'no images'),
    (['--data', '{mnist}', '-p', 'ns', '[15]', '--factors', 'data_size'], 'not divisible by the class count'),
])
def test_study_request_errors(args, message, mnist_dir, flat_dir, tmp_path, capsys):
    "A bad data request stops emm_study before anything is written, with one line naming the problem."
    (tmp_path / 'empty').mkdir()
    args = [a.format(flat=flat_dir, mnist=mnist_dir, empty=tmp_path / 'empty') for a in args]
    assert main(['--preset', 'smoke', '--out', str(tmp_path / 'out'), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()
