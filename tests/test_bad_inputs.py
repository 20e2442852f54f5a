"""Bad input and faults (issue 26): every bad request refused before training with exit code 2 and a message naming the
parameter, the value and what is valid (no traceback); a SIGINT stops a study with runs queued; damaged result files
heal; a failing rerun keeps the good results; a read-only output folder is named before training."""
import os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest, torch
from emm_nb import runner
from emm_nb.runner import main

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope='module')
def folder20(tmp_path_factory):
    "An image folder of 20 (and one of 1) random 32x32 images."
    from PIL import Image
    out = {}
    for n in (20, 1):
        d = tmp_path_factory.mktemp(f'img{n}')
        for i in range(n): Image.fromarray(np.random.RandomState(i).randint(0, 255, (32, 32, 3), dtype=np.uint8)).save(d / f'{i:03d}.png')
        out[n] = d
    return out

BAD = [   # (arguments, words of the message)
    (['--factors', 'data_size', '-p', 'ns', '[20.5]'], ['parameter ns = [20.5]', '20.5 is not a whole number', 'valid:']),
    (['--factors', 'data_size', '-p', 'ns', '[0]'], ['parameter ns = [0]', 'out of range', 'images >= 1']),
    (['--factors', 'data_size', '-p', 'ns', '20'], ['parameter ns = 20', 'not a list', 'write [20]']),
    (['--factors', 'data_size', '-p', 'ns', 'abc'], ["parameter ns = 'abc'", 'not a list']),
    (['--factors', 'data_size', '-p', 'ns', '[-10,20]'], ['parameter ns = [-10, 20]', '-10 is out of range']),
    (['--factors', 'data_size', '-p', 'ns', '[25]'], ['data_size (ns=[25])', 'not divisible by the class count C=10']),
    (['--factors', 'data_size', '-p', 'ns', '[60000]'], ['data_size (ns=[60000])', 'N=60000 needs 6000 images of class 0']),
    (['--factors', 'conditioning', '-p', 'n_random_classes', 'abc'], ["parameter n_random_classes = 'abc'", 'not a whole number']),
    (['--factors', 'width', '-p', 'widths', '[0]'], ['parameter widths = [0]', 'channels >= 4']),
    (['--factors', 'width', '-p', 'widths', '[8.5]'], ['parameter widths = [8.5]', '8.5 is not a whole number']),
    (['--factors', 'data_size', '--data-size', '16'], ['--data-size and --data-fit', 'give --data too']),
    (['--factors', 'data_size', '--data-fit', 'pad'], ['--data-size and --data-fit', 'give --data too']),
    (['--factors', 'data_size', '-p', 'eps', '1.5'], ['parameter eps = 1.5', 'a number in (0, 1)']),
    (['--factors', 'data_size', '-p', 'eps', '0'], ['parameter eps = 0', 'a number in (0, 1)']),
    (['--factors', 'resolution', '-p', 'resolutions', '[12]'], ['resolutions [12]', 'has a grid of N only at [8, 16] pixels']),
    (['--factors', ','], ['--factors: no factor selected', 'data_size', 'main, headline or all']),
    (['--factors', 'data_size', '--executor', 'pool', '--devices', ','], ["--devices ','", 'names an empty device', 'cpu,cpu']),
    (['--factors', 'data_size', '--data', 'cifar10', '--data-size', '64'],          # upscaling 32 px images
     ["data 'cifar10': size 64 is larger than the images (32x32)", "would upscale them", "use a size of 32 or less, or the 'pad' rule"]),
]
if not torch.cuda.is_available():
    BAD.append((['--factors', 'data_size', '--device', 'cuda:0', '--executor', 'local'], ["device 'cuda:0': no CUDA device is visible here", "use 'cpu'"]))

def _refused(capsys, args, words, out):
    assert main(['--preset', 'smoke', '--out', str(out), *args]) == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err and err.startswith('emm_study: error: '), err
    for w in words: assert w in err, (w, err)
    assert not out.exists()                                        # refused before anything was written

@pytest.mark.parametrize('args,words', BAD, ids=[' '.join(a[1:]) for a, _ in BAD])
def test_bad_request_refused_before_training(tmp_path, capsys, data_root, args, words):
    _refused(capsys, args, words, tmp_path / 'o')

@pytest.mark.parametrize('n,extra,words', [
    (20, ['-p', 'ns', '[40]'], ['data_size (ns=[40])', 'N=40 is more than the 20 images']),
    (1, [], ['N=10 is more than the 1 images']),
    (20, ['--data-size', '4'], ['--data-size 4 is below the resolution the smoke preset trains at', '--data-size 8 or more']),
])
def test_data_too_small_refused(tmp_path, capsys, folder20, n, extra, words):
    _refused(capsys, ['--factors', 'data_size', '--data', str(folder20[n]), *extra], words, tmp_path / 'o')

def test_read_only_output_named_before_training(tmp_path, capsys, monkeypatch, data_root):
    "A read-only output folder (root writes through permissions, so there the file system's refusal is simulated)."
    ro = tmp_path / 'ro'; ro.mkdir(); ro.chmod(0o555)
    if os.geteuid() == 0:
        def refuse(*a, **k): raise OSError(30, 'Read-only file system')
        monkeypatch.setattr(runner.tempfile, 'mkstemp', refuse)
    assert main(['--preset', 'smoke', '--factors', 'ema', '--out', str(ro / 'study')]) == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err and f'output folder {ro / "study"} cannot be written (' in err, err
    assert not (ro / 'study' / 'runs').exists()

def test_full_output_folder_named_before_training(tmp_path, capsys, monkeypatch, data_root):
    import shutil
    monkeypatch.setattr(runner.shutil, 'disk_usage', lambda p: shutil._ntuple_diskusage(10 * 2**30, 10 * 2**30 - 2**20, 2**20))   # 1 MiB free
    assert main(['--preset', 'smoke', '--factors', 'ema', '--out', str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err
    assert 'has 1 MiB free and the runs to train need about' in err and 'free some space or choose another --out' in err, err
    assert not (tmp_path / 'o' / 'runs').exists()

def test_numeric_entry_points_refuse(data_root):
    from emm_nb.optimal import OptimalDenoiser
    from emm_nb.metrics import memorization
    imgs = torch.rand(4, 3, 8, 8, dtype=torch.float64) * 2 - 1
    for bad, words in [(imgs[:0], 'training set is empty'), (imgs * float('nan'), 'NaN'), (imgs * 127.5 + 127.5, 'must be in [-1, 1]')]:
        with pytest.raises(ValueError, match=words.replace('[', r'\[').replace(']', r'\]')): OptimalDenoiser(bad)
    D = OptimalDenoiser(imgs)
    with pytest.raises(ValueError, match='x holds NaN'): D(imgs * float('nan'), 1.)
    with pytest.raises(ValueError, match='too small for torch.float32'): OptimalDenoiser(imgs, dtype=torch.float32)(imgs, 1e-20)
    with pytest.raises(TypeError, match='labels must be integers'): OptimalDenoiser(imgs, torch.tensor([0., 1., 0., 1.]))
    u8 = np.random.RandomState(0).randint(0, 255, (4, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match='no samples'): memorization(u8[:0], u8)
    with pytest.raises(TypeError, match='uint8'): memorization(u8.astype(np.float32) / 255, u8)

def _api_refusals():
    "The API inputs refused since the bad-input sweep (tools/bad_inputs.py): (name, call, exception type, words of the message)."
    from emm_nb.optimal import OptimalDenoiser
    from emm_nb.sampling import to_uint8
    from emm_nb.emm import wilson, EMMError
    from emm_nb.data import balanced_indices, DataError
    from emm_nb.inference import compare, seed_dispersion
    imgs = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    lab = torch.tensor([0, 1, 0, 1])
    return [
        ('float images in [0, 1]', lambda: OptimalDenoiser((imgs + 1) / 2), ValueError, 'images look like [0, 1] (no value below 0'),
        ('negative labels', lambda: OptimalDenoiser(imgs, lab - 1), ValueError, 'labels must be class indices >= 0, got -1'),
        ('sigma 1e200 in float32', lambda: OptimalDenoiser(imgs, dtype=torch.float32)(imgs, 1e200), ValueError,
         'sigma 1e+200 is too large for torch.float32'),
        ('sigma 0 named', lambda: OptimalDenoiser(imgs)(imgs, torch.tensor([1., 0., 1., 1.])), ValueError, 'sigma must be finite and > 0, got 0'),
        ('to_uint8 of uint8', lambda: to_uint8(torch.zeros(1, 3, 2, 2, dtype=torch.uint8)), TypeError, 'x must be float images in [-1, 1], got torch.uint8'),
        ('to_uint8 of one 3-D image', lambda: to_uint8(imgs[0]), ValueError, 'x must be [B, C, H, W], got shape [3, 8, 8]'),
        ('wilson NaN samples', lambda: wilson(0.5, float('nan')), EMMError, 'sample counts must be positive and finite'),
        ('wilson conf 1.5', lambda: wilson(0.5, 10, conf=1.5), EMMError, 'conf=1.5 must lie in the open interval (0, 1)'),
        ('fractional N', lambda: balanced_indices(np.repeat(np.arange(10), 3), 20.5), DataError, 'subset size N=20.5 must be a whole number of images'),
        ('more memorized than samples', lambda: compare({10: (12, 10)}, {10: (5, 10)}), ValueError, 'counts: 12 memorized of 10 samples'),
        ('no samples', lambda: compare({10: (0, 0)}, {10: (5, 10)}), ValueError, 'counts: 0 memorized of 0 samples'),
        ('seed counts above samples', lambda: seed_dispersion([10, 10], [20, 3], [16, 16]), ValueError, 'counts: 20 memorized of 16 samples'),
    ]

@pytest.mark.parametrize('i', range(len(_api_refusals())), ids=lambda i: _api_refusals()[i][0])
def test_api_refuses(i):
    "Each numeric entry point refuses its bad input with its own exception and a message naming the value (no torch or numpy error)."
    _, call, exc, words = _api_refusals()[i]
    with pytest.raises(exc) as e: call()
    assert words in str(e.value), str(e.value)

def test_whole_float_n_is_that_integer():
    "The documented conversion: a whole float N such as 20.0 (from arithmetic) is taken as 20."
    from emm_nb.data import balanced_indices
    y = np.repeat(np.arange(10), 3)
    assert balanced_indices(y, 20.0).tolist() == balanced_indices(y, 20).tolist() and len(balanced_indices(y, 20.0)) == 20

def test_failing_rerun_keeps_good_results(tmp_path, monkeypatch):
    "A notebook that fails on a rerun puts back the results, parameters and executed notebook of its last good run."
    d = tmp_path / 'ema'; d.mkdir()
    good = {'results.json': '{"experiment": "ema", "settings": []}', 'params.json': '{"eps": 0.1}', 'ema.ipynb': '{}'}
    for n, s in good.items(): (d / n).write_text(s)
    def fails(nb, out_nb, params, cwd):
        (cwd / 'results.json').write_text('{"half": '); out_nb.write_text('{"failed": 1}'); raise RuntimeError('cell 7 failed')
    monkeypatch.setattr(runner, 'run_notebook', fails)
    r = runner.notebook_task(dict(nb=str(ROOT / 'nbs/experiments/ema/ema.ipynb'), dir=str(d), params=dict(eps=0.2)))
    assert r['status'] == 'failed: RuntimeError: cell 7 failed'
    assert {n: (d / n).read_text() for n in good} == good and (d / 'ema.failed.ipynb').read_text() == '{"failed": 1}'

def test_damaged_results_rerun_and_summary_never_stale(tmp_path, monkeypatch):
    "A truncated results.json is moved aside and its notebook queued again; a summary that cannot be made is removed."
    out = tmp_path / 'study'; d = out / 'ema'; d.mkdir(parents=True)
    (d / 'results.json').write_text('{"experiment": "ema", "sett'); (d / 'params.json').write_text('{}')
    logged = []
    tasks, status = runner._notebook_tasks([('ema', ROOT / 'nbs/experiments/ema/ema.ipynb')], out, 'smoke', {}, None, logged.append)
    assert [t['factor'] for t in tasks] == ['ema'] and status == {} and (d / 'results.json.damaged').exists()
    assert 'corrupt JSON' in logged[0] and 'the ema notebook runs again' in logged[0]
    runner.write_json(d / 'results.json', dict(experiment='ema', settings=[]), checksum=True)
    for n in runner.SUMMARY_FILES: (out / n).write_text('old')
    monkeypatch.setattr(runner, 'summarise', lambda out: (_ for _ in ()).throw(OSError(28, 'No space left on device')))
    st = {'ema': 'ok'}; runner._summary(out, st, logged.append)
    assert st['summary'].startswith('failed: OSError') and not any((out / n).exists() for n in runner.SUMMARY_FILES)
    for n in runner.SUMMARY_FILES: (out / n).write_text('old')
    (d / 'results.json').unlink(); runner._summary(out, {'ema': 'failed: RuntimeError: x'}, logged.append)
    assert logged[-1] == 'no experiment finished: no summary written' and not any((out / n).exists() for n in runner.SUMMARY_FILES)

def test_done_experiment_with_a_lost_run_runs_again(tmp_path, data_root):
    "An experiment whose results are good but one of whose runs is missing or damaged in the cache is not skipped: the run is trained again, then the notebook."
    out, nb = tmp_path / 'study', ROOT / 'nbs/experiments/data_size/data_size.ipynb'; out.mkdir()
    (tasks, _), logged = runner._notebook_tasks([('data_size', nb)], out, 'smoke', {}, None, print), []
    runner.write_json(out / 'data_size' / 'results.json', dict(experiment='data_size', settings=[]), checksum=True)
    runner.write_json(out / 'data_size' / 'params.json', tasks[0]['params'])
    tasks, status = runner._notebook_tasks([('data_size', nb)], out, 'smoke', {}, None, logged.append)   # the cache holds none of its runs
    assert [t['factor'] for t in tasks] == ['data_size'] and status == {}
    assert 'of its runs missing or damaged in the cache: trained again, then the notebook runs again' in logged[0], logged

def test_sigint_stops_a_study_with_runs_queued(tmp_path, data_root):
    """One SIGINT to the study's process group (a Ctrl-C) while its pool trains the first of six runs: the queued runs are
    dropped, the worker ends, the log says what was done and how to resume, exit code 130; waits for the group to end."""
    out = tmp_path / 'study'
    p = subprocess.Popen([sys.executable, '-c', 'import sys; from emm_nb.runner import main; sys.exit(main())', '--preset', 'smoke',
                          '--factors', 'data_size', '--out', str(out), '--executor', 'pool', '--devices', 'cpu'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        lines = []
        for line in p.stdout:                                        # the event: the first run finished, five queued
            lines.append(line)
            if line.startswith('[run 1/6]'): break
        assert lines and lines[-1].startswith('[run 1/6]'), ''.join(lines) + p.stderr.read()
        os.killpg(p.pid, signal.SIGINT)
        rest, err = p.communicate(timeout=600)                       # a guard against a hang, not a deadline
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
    log = ''.join(lines) + rest
    assert p.returncode == 130, log + err
    assert 'stopped (Ctrl-C): runs' in log and 'resume from their last checkpoint' in log, log
    assert 'To resume, run the same command again: emm_study --preset smoke' in err and 'Traceback' not in err, err
    finished = list((out / 'runs').glob('*/result.json'))
    assert 1 <= len(finished) < 6 and log.count('[run ') == len(finished)   # queued runs were not trained
    while _group(p.pid): time.sleep(0.1)                             # the event: every process of the group has ended

def _group(pgid:int) -> list:
    "Live processes (zombies count as ended) of a process group."
    out = []
    for st in Path('/proc').glob('[0-9]*/stat'):
        try: state, _, grp = st.read_text().rsplit(') ', 1)[1].split()[:3]
        except (OSError, IndexError): continue
        if int(grp) == pgid and state != 'Z': out.append(int(st.parent.name))
    return out

def test_every_notebook_parameter_declared():
    "Each experiment notebook's parameters (but the runner's own) have a declared kind in emm_nb.params, and nothing more."
    from emm_nb.params import PARAMS, COMMON
    assert set(PARAMS) == set(runner.EXPERIMENTS)
    for f in runner.EXPERIMENTS:
        declared = runner.notebook_params(runner.notebook(f)) - set(runner.RUNNER_PARAMS)
        assert declared == set(PARAMS[f]) | set(COMMON), (f, declared ^ (set(PARAMS[f]) | set(COMMON)))


# ---------------------------------------------------------------- emm_train: exit codes, a diverging run, a full or read-only disk
TRAIN = ['--preset', 'tiny', '--data', 'n=16,res=8,classes=4', '--no-progress', '--set', 'batch=16', 'epochs=32', 'snapshot_epochs=16',
         'eval_samples=16', 'eval_steps=4', 'eval_batch=16', 'log_steps=4', 'stop_at=null']

def _train(capsys, run_dir, *extra) -> tuple:
    "emm_train's main in this process: (exit code, stderr)."
    from emm_nb.training import main as train_main
    rc = train_main([*TRAIN[:5], '--run-dir', str(run_dir), *TRAIN[5:], *extra])
    return rc, capsys.readouterr().err

def test_emm_train_nonfinite_loss_names_what_is_kept(tmp_path, data_root):
    """`emm_train --set lr=1e8` through its console entry (`sys.exit(main())`): one line that says no checkpoint was written yet and
    what to change, exit code 1, no traceback."""
    r = subprocess.run([sys.executable, '-m', 'emm_nb.training', *TRAIN[:5], '--run-dir', str(tmp_path / 'run'), *TRAIN[5:], 'lr=1e8'],
                       capture_output=True, text=True, timeout=600)            # a guard against a hang, not a deadline
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr
    assert r.stderr.startswith('emm_train: error: non-finite loss (nan) or weights at step 4 (lr 1e+08, fp32): ') and r.stderr.count('\n') == 1, r.stderr
    assert 'no checkpoint was written yet, so nothing is kept; lower the lr or use a longer warm-up' in r.stderr, r.stderr
    assert 'last good checkpoint' not in r.stderr and not (tmp_path / 'run' / 'checkpoint.pt').exists()

@pytest.mark.parametrize('extra,words', [
    (['lrr=1e-3'], ["--set: unknown TrainConfig key(s): 'lrr' (did you mean 'lr'?)"]),
    (['lr=abc'], ["--set: lr must be a finite number, got 'abc'"]),
    (['lr'], ["--set 'lr': write KEY=VALUE"]),
    (['batch=0'], ['--set: batch must be a positive integer, got 0']),
    (['--data', 'n=0'], ["--data 'n=0': subset size N=0 must be positive"]),
    (['--data', 'n=16,foo=1'], ["unexpected keyword argument 'foo'"]),
    (['--preset', 'nope'], ["--preset: unknown procedure 'nope'"]),
], ids=lambda v: ' '.join(v) if isinstance(v, list) and v and v[0].startswith(('-', 'l', 'b')) else None)
def test_emm_train_bad_request_exits_2(tmp_path, capsys, data_root, extra, words):
    rc, err = _train(capsys, tmp_path / 'run', *extra)
    assert rc == 2 and 'Traceback' not in err and err.startswith('emm_train: error: '), err
    for w in words: assert w in err, (w, err)
    assert not (tmp_path / 'run').exists()                               # refused before anything was written

def test_emm_train_success_exits_0(tmp_path, capsys, data_root):
    "A finished run exits 0 (main used to return the metrics dict, which `sys.exit` turned into exit code 1)."
    rc, err = _train(capsys, tmp_path / 'run')
    assert rc == 0 and (tmp_path / 'run' / 'metrics.json').exists(), err

@pytest.mark.parametrize('fault', ['ENOSPC', 'torch'])
def test_full_disk_while_saving_says_so(tmp_path, capsys, monkeypatch, data_root, fault):
    """A disk that fills while the checkpoint is written (an OSError, or torch's own `enforce fail at inline_container.cc`):
    the run folder and the megabytes needed are named, exit code 1, and no half-written file is left."""
    import errno, shutil
    from emm_nb import rundir
    def full(obj, path):
        if fault == 'ENOSPC': raise OSError(errno.ENOSPC, 'No space left on device')
        raise RuntimeError('[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file data/7: file write failed')
    monkeypatch.setattr(rundir.torch, 'save', full)
    calls = []                                   # torch's error does not say why: the folder's free space (0.5 MiB once training runs) does
    def usage(p):
        calls.append(p); free = 2**30 if len(calls) == 1 or fault == 'ENOSPC' else 2**19
        return shutil._ntuple_diskusage(2**31, 2**31 - free, free)
    monkeypatch.setattr(rundir.shutil, 'disk_usage', usage)
    run = tmp_path / 'run'
    rc, err = _train(capsys, run)
    assert rc == 1 and 'Traceback' not in err and 'inline_container' not in err, err
    assert err.startswith(f'emm_train: error: no space left on {run}: ') and ' MB needed' in err and 'then run again' in err, err
    assert not [p.name for p in run.iterdir() if p.name.endswith('.tmp')]

def test_read_only_run_folder_says_so(tmp_path, capsys, monkeypatch, data_root):
    "A run folder inside a read-only folder is named as read-only before training (root writes through permissions: simulated there)."
    ro = tmp_path / 'ro'; ro.mkdir(); ro.chmod(0o555)
    try:
        if os.geteuid() == 0:
            import errno
            from emm_nb import rundir
            def refuse(self, *a, **k): raise OSError(errno.EROFS, 'Read-only file system')
            monkeypatch.setattr(rundir.Path, 'mkdir', refuse)
        rc, err = _train(capsys, ro / 'run')
    finally: ro.chmod(0o755)
    assert rc == 1 and 'Traceback' not in err, err
    assert err.startswith(f'emm_train: error: {ro} is read-only (') and 'write into another folder' in err, err
    assert not (ro / 'run').exists()

def test_two_runners_on_one_folder(tmp_path, data_root):
    "Two studies started at once on one output folder take turns on each experiment: both succeed, each run trains once, the results and the summary are there."
    out = tmp_path / 'study'
    cmd = [sys.executable, '-c', 'import sys; from emm_nb.runner import main; sys.exit(main())', '--preset', 'smoke', '--factors', 'data_size',
           '--out', str(out), '--executor', 'local']
    ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    logs = [p.communicate()[0] for p in ps]
    assert [p.returncode for p in ps] == [0, 0], logs
    assert (out / 'data_size' / 'results.json').exists() and (out / 'summary.csv').exists() and (out / 'summary.ipynb').exists(), logs
    import re
    trained = sum(int(re.search(r'runs: (\d+) trained', l).group(1)) for l in logs)   # a run found finished after the wait is counted reused
    assert trained == len(list((out / 'runs').glob('*/result.json'))), logs
    for run in (out / 'runs').glob('*/train/stats.jsonl'):                  # each run trained by one of them only
        steps = [l for l in run.read_text().splitlines() if '"loss"' in l]
        assert len(steps) == len(set(steps)), f"{run.parent.parent.name} trained twice"
