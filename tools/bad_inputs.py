#!/usr/bin/env python
"""Issue 26's sweep: bad inputs to emm_study, emm_train, emm_memorization and the API, and faults (Ctrl-C, damaged results,
read-only or full disk, kill -9, two runners), each tried as a careless user would on the smoke preset and classified.

Classes: 'clear error' (refused before training, exit code != 0, no traceback, the message names the parameter and the value),
'unclear' (refused, but the message does not), 'traceback' (a raw traceback, or through the API an exception raised inside
torch, numpy or the standard library), 'silent accept' (exit code 0 or no exception: the bad input was used), 'late error'
(refused only after a run had trained), 'handled' (a fault, or a documented conversion, dealt with as the issue asks) and
'handled badly' (a fault that was not: the failed checks are listed). Every output goes to a temporary folder (--tmp).

    python tools/bad_inputs.py                       # everything: a few minutes on the smoke preset
    python tools/bad_inputs.py --only api,study      # groups: study, train, memorization, api, fault
    python tools/bad_inputs.py --out /tmp/bad.json -k ns   # inputs whose name holds 'ns'
"""
from __future__ import annotations
import argparse, json, os, shlex, shutil, signal, subprocess, sys, tempfile, threading, time, traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SLOTS = threading.Semaphore(2)            # at most two subprocesses at a time (a two-runner fault takes both)
CLASSES = ('clear error', 'unclear', 'traceback', 'silent accept', 'late error', 'handled', 'handled badly', 'not run')

# ---------------------------------------------------------------------------------------------------------------- the inputs
S = ['--preset', 'smoke']                 # every emm_study input: the smoke preset, its own --out
DS = [*S, '--factors', 'data_size']
def p(f, name, value, *more): return [*S, '--factors', f, '-p', name, value, *more]

STUDY = [   # (name, argv after emm_study (--out {out} is added), words a clear message holds)
    ('ns fractional', p('data_size', 'ns', '[20.5]'), ['ns', '20.5']),
    ('ns float whole', p('data_size', 'ns', '[20.0]'), ['ns', '20.0']),
    ('ns zero', p('data_size', 'ns', '[0]'), ['ns', '0']),
    ('ns bare number', p('data_size', 'ns', '20'), ['ns', '20', 'list']),
    ('ns text', p('data_size', 'ns', 'abc'), ['ns', 'abc']),
    ('ns negative', p('data_size', 'ns', '[-10,20]'), ['ns', '-10']),
    ('ns empty list', p('data_size', 'ns', '[]'), ['ns', '[]']),
    ('ns boolean', p('data_size', 'ns', '[True]'), ['ns', 'True']),
    ('ns not divisible by C', p('data_size', 'ns', '[25]'), ['25', 'divisible']),
    ('ns larger than CIFAR-10', p('data_size', 'ns', '[60000]'), ['60000']),
    ('ns a string item', p('data_size', 'ns', "['20']"), ['ns', "'20'"]),
    ('ns nested list', p('data_size', 'ns', '[[20]]'), ['ns', '[20]']),
    ('n_random_classes text', p('conditioning', 'n_random_classes', 'abc'), ['n_random_classes', 'abc']),
    ('n_random_classes zero', p('conditioning', 'n_random_classes', '0'), ['n_random_classes', '0']),
    ('n_random_classes fractional', p('conditioning', 'n_random_classes', '2.5'), ['n_random_classes', '2.5']),
    ('widths zero', p('width', 'widths', '[0]'), ['widths', '0']),
    ('widths fractional', p('width', 'widths', '[8.5]'), ['widths', '8.5']),
    ('widths below GroupNorm', p('width', 'widths', '[2]'), ['widths', '2']),
    ('widths bare number', p('width', 'widths', '16'), ['widths', '16', 'list']),
    ('eps above 1', p('data_size', 'eps', '1.5'), ['eps', '1.5']),
    ('eps zero', p('data_size', 'eps', '0'), ['eps', '0']),
    ('eps negative', p('data_size', 'eps', '-0.1'), ['eps', '-0.1']),
    ('eps text', p('data_size', 'eps', 'abc'), ['eps', 'abc']),
    ('eps NaN', p('data_size', 'eps', 'nan'), ['eps', 'nan']),
    ('unknown parameter', p('data_size', 'nsx', '[20]'), ['nsx']),
    ('resolutions below 4', p('resolution', 'resolutions', '[2]'), ['resolutions', '2']),
    ('resolutions not halving', p('resolution', 'resolutions', '[12]'), ['12']),
    ('class_counts above 10', p('classes', 'class_counts', '[11]'), ['11']),
    ('class_counts zero', p('classes', 'class_counts', '[0]'), ['class_counts', '0']),
    ('alphas above 1', p('intra_diversity', 'alphas', '[1.5]'), ['alphas', '1.5']),
    ('cls 10 of 10 classes', p('intra_diversity', 'cls', '10'), ['cls', '10']),
    ('blocks zero', p('depth', 'blocks', '[0]'), ['blocks', '0']),
    ('batches zero', p('batch', 'batches', '[0]'), ['batches', '0']),
    ('weight_decays negative', p('weight_decay', 'weight_decays', '[-1]'), ['weight_decays', '-1']),
    ('ema_decays 1', p('ema', 'ema_decays', '[1.0]'), ['ema_decays', '1.0']),
    ('skips one out of range', p('skips', 'one', '[99]'), ['99']),
    ('skips modes unknown', p('skips', 'modes', "['bogus']"), ['modes', 'bogus']),
    ('label_classes classes zero', p('label_classes', 'classes', '[0]'), ['classes', '0']),
    ('label_classes n not divisible', p('label_classes', 'n', '25'), ['25']),
    ('els boundary unknown', p('els', 'boundary', 'bogus'), ['boundary', 'bogus']),
    ('unknown factor', [*S, '--factors', 'nosuch'], ['nosuch']),
    ('empty factors', [*S, '--factors', ','], ['factors']),
    ('unknown preset', ['--preset', 'nosuch', '--factors', 'data_size'], ['nosuch']),
    ('--data-size without --data', [*DS, '--data-size', '16'], ['--data-size', '--data']),
    ('--data-fit without --data', [*DS, '--data-fit', 'pad'], ['--data-fit', '--data']),
    ('--data-size 64 upscales CIFAR-10', [*DS, '--data', 'cifar10', '--data-size', '64'], ['64', '32']),
    ('--data-size zero', [*DS, '--data', 'cifar10', '--data-size', '0'], ['--data-size', '0']),
    ('--data-size text', [*DS, '--data-size', 'abc'], ['--data-size', 'abc']),
    ('--data-fit unknown', [*DS, '--data', 'cifar10', '--data-fit', 'squash'], ['--data-fit', 'squash']),
    ('--data missing folder', [*DS, '--data', '{tmp}/nowhere'], ['nowhere']),
    ('--data unknown name', [*DS, '--data', 'cifar11'], ['cifar11']),
    ('--data named set not present', [*DS, '--data', 'mnist'], ['mnist']),
    ('--data a text file', [*DS, '--data', '{tmp}/notes.txt'], ['notes.txt']),
    ('--data empty folder', [*DS, '--data', '{tmp}/empty'], ['empty']),
    ('--data 20 images, ns [40]', [*DS, '--data', '{tmp}/img20', '-p', 'ns', '[40]'], ['40', '20 images']),
    ('--data one image', [*DS, '--data', '{tmp}/img1'], ['1 images']),
    ('--data-size 4 below the preset', [*DS, '--data', '{tmp}/img20', '--data-size', '4'], ['--data-size 4', '8']),
    ('--device cuda:0 without CUDA', [*DS, '--device', 'cuda:0', '--executor', 'local'], ["cuda:0"]),
    ('--device unknown', [*DS, '--device', 'tpu', '--executor', 'local'], ['tpu']),
    ('--devices cuda pool without CUDA', [*DS, '--executor', 'pool', '--devices', 'cuda:0,cuda:1'], ['cuda:0']),
    ('--devices empty', [*DS, '--executor', 'pool', '--devices', ','], ['--devices']),
    ('--executor unknown', [*DS, '--executor', 'mpi'], ['--executor', 'mpi']),
    ('--out an existing file', ['--preset', 'smoke', '--factors', 'data_size', '--out', '{tmp}/notes.txt'], ['notes.txt']),
    ('--out in a read-only folder', ['--preset', 'smoke', '--factors', 'data_size', '--out', '{ro}/study'], ['{ro}/study', 'read-only']),
]

TRAIN_OPTS = dict(preset='tiny', data='n=16,res=8,classes=4', run_dir='{out}')
TRAIN_SETS = ['batch=16', 'epochs=32', 'snapshot_epochs=16', 'eval_samples=16', 'eval_steps=4', 'eval_batch=16', 'log_steps=4', 'stop_at=null']
def t(*sets, **opts):
    "emm_train's arguments: the base options with `opts` replacing them (None: left out), `sets` after the base --set values."
    o = {**TRAIN_OPTS, **opts}
    return [x for k, v in o.items() if v is not None for x in (f"--{k.replace('_', '-')}", v)] + ['--no-progress', '--set', *TRAIN_SETS, *sets]

TRAIN_CASES = [   # (name, argv, words, a late error expected: the fault shows only while training)
    ('lr 1e8 diverges', t('lr=1e8'), ['non-finite loss', 'lr'], True),
    ('--set unknown key', t('lrr=1e-3'), ['lrr']),
    ('--set lr text', t('lr=abc'), ['lr', 'abc']),
    ('--set lr NaN', t('lr=nan'), ['lr', 'nan']),
    ('--set lr negative', t('lr=-1'), ['lr', '-1']),
    ('--set batch zero', t('batch=0'), ['batch', '0']),
    ('--set epochs negative', t('epochs=-1'), ['epochs', '-1']),
    ('--set without =', t('lr'), ['lr']),
    ('--data n=0', t(data='n=0'), ['n=0']),
    ('--data n not divisible', t(data='n=15,res=8,classes=4'), ['15', 'divisible']),
    ('--data unknown key', t(data='n=16,foo=1'), ['foo']),
    ('--data res=3', t(data='n=16,res=3,classes=4'), ['res', '3']),
    ('--preset unknown', t(preset='nope'), ['nope']),
    ('--config missing', t(config='{tmp}/nowhere.json', preset=None), ['nowhere.json']),
    ('--config truncated', t(config='{tmp}/truncated.json', preset=None), ['truncated.json']),
    ('--max-steps negative', t(max_steps='-1'), ['--max-steps', '-1']),
    ('--run-dir in a read-only folder', t(run_dir='{ro}/run'), ['{ro}', 'read-only']),
]

M = ['--train', 'cifar10']
MEM = [   # (name, argv after emm_memorization, words)
    ('--samples missing', ['--samples', '{tmp}/nowhere', *M], ['nowhere']),
    ('--samples empty folder', ['--samples', '{tmp}/empty', *M], ['empty']),
    ('--samples float npy in [0, 1]', ['--samples', '{tmp}/float01.npy', *M], ['float01.npy', 'uint8']),
    ('--samples wrong dims npy', ['--samples', '{tmp}/flat.npy', *M], ['flat.npy']),
    ('--samples text file', ['--samples', '{tmp}/notes.txt', *M], ['notes.txt']),
    ('--train unknown name', ['--samples', '{tmp}/samples', '--train', 'cifar11'], ['cifar11']),
    ('--train one image', ['--samples', '{tmp}/samples', '--train', '{tmp}/img1'], ['2']),
    ('--train empty folder', ['--samples', '{tmp}/samples', '--train', '{tmp}/empty'], ['empty']),
    ('--size zero', ['--samples', '{tmp}/samples', *M, '--size', '0'], ['size', '0']),
    ('--batch zero', ['--samples', '{tmp}/samples', *M, '--batch', '0'], ['batch', '0']),
    ('--channels 2', ['--samples', '{tmp}/samples', *M, '--channels', '2'], ['--channels', '2']),
    ('--device cuda:0 without CUDA', ['--samples', '{tmp}/samples', *M, '--device', 'cuda:0'], ['cuda:0']),
    ('samples 8 px, training set 32 px', ['--samples', '{tmp}/samples8', *M], ['8', '32']),
    ('--split unknown', ['--samples', '{tmp}/samples', *M, '--split', 'dev'], ['dev']),
    ('--out in a read-only folder', ['--samples', '{tmp}/samples', *M, '--out', '{ro}/mem'], ['{ro}', 'read-only']),
]

# ------------------------------------------------------------------------------------------------------------- the API cases
def api_cases():
    "(name, call, words, ok): `ok(result)` says a returned value is a documented conversion, None: any return is a silent accept."
    import torch
    from emm_nb.optimal import OptimalDenoiser
    from emm_nb.sampling import to_uint8
    from emm_nb.emm import wilson, check_eps, emm_from_sweep
    from emm_nb.metrics import memorization, ReferenceSet
    from emm_nb.data import to_float, cifar10_subset, resize, balanced_indices
    from emm_nb.inference import compare, seed_dispersion
    g = torch.Generator().manual_seed(0)
    im = torch.rand(6, 3, 8, 8, generator=g, dtype=torch.float64) * 2 - 1      # a training set in [-1, 1]
    x = torch.randn(2, 3, 8, 8, generator=g, dtype=torch.float64)
    lab = torch.tensor([0, 1, 0, 1, 0, 1])
    D = lambda **k: OptimalDenoiser(im, **k)
    u8 = np.random.RandomState(0).randint(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    nan = float('nan')
    cls = np.repeat(np.arange(10), 3)
    return [
        ('OptimalDenoiser: float images in [0, 1]', lambda: OptimalDenoiser((im + 1) / 2), ['[0, 1]'], None),
        ('OptimalDenoiser: float images in [0, 255]', lambda: OptimalDenoiser(im * 127.5 + 127.5), ['[-1, 1]'], None),
        ('OptimalDenoiser: uint8 images', lambda: OptimalDenoiser(torch.as_tensor(u8).permute(0, 3, 1, 2)), ['uint8'], None),
        ('OptimalDenoiser: NaN training images', lambda: OptimalDenoiser(im * nan), ['NaN'], None),
        ('OptimalDenoiser: inf in a training image', lambda: OptimalDenoiser(torch.where(im > 0.9, torch.inf, im)), ['inf'], None),
        ('OptimalDenoiser: empty training set', lambda: OptimalDenoiser(im[:0]), ['empty'], None),
        ('OptimalDenoiser: one image, 3-D', lambda: OptimalDenoiser(im[0]), ['[N, C, H, W]'], None),
        ('OptimalDenoiser: float labels', lambda: OptimalDenoiser(im, lab.double()), ['labels', 'integers'], None),
        ('OptimalDenoiser: negative labels', lambda: OptimalDenoiser(im, lab - 1), ['labels', '-1'], None),
        ('OptimalDenoiser: float16', lambda: D(dtype=torch.float16), ['dtype', 'float16'], None),
        ('D*: NaN query', lambda: D()(x * nan, 1.), ['x', 'NaN'], None),
        ('D*: sigma 1e-20 in float32', lambda: D(dtype=torch.float32)(x, 1e-20), ['sigma', '1e-20', 'float32'], None),
        ('D*: sigma 0', lambda: D()(x, 0.), ['sigma'], None),
        ('D*: sigma negative', lambda: D()(x, -1.), ['sigma'], None),
        ('D*: sigma NaN', lambda: D()(x, nan), ['sigma'], None),
        ('D*: sigma inf', lambda: D()(x, float('inf')), ['sigma'], None),
        ('D*: sigma 1e200 overflows float32', lambda: D(dtype=torch.float32)(x, 1e200), ['sigma', 'float32'], None),
        ('D*: query of another shape', lambda: D()(x[:, :, :4], 1.), ['shape'], None),
        ('D*: a label without training images', lambda: D(labels=lab)(x, 1., torch.tensor([0, 5])), ['label'], None),
        ('D*: float query labels', lambda: D(labels=lab)(x, 1., torch.tensor([0., 1.])), ['labels', 'integers'], None),
        ('to_uint8: NaN', lambda: to_uint8(x * nan), ['NaN'], None),
        ('to_uint8: inf', lambda: to_uint8(x / 0), ['inf'], None),
        ('to_uint8: uint8 input', lambda: to_uint8(torch.as_tensor(u8).permute(0, 3, 1, 2)), ['uint8'], None),
        ('to_uint8: one image, 3-D', lambda: to_uint8(x[0]), ['[B, C, H, W]'], None),
        ('wilson: ratio 2.0', lambda: wilson(2.0, 10), ['2.0', '[0, 1]'], None),
        ('wilson: ratio -0.1', lambda: wilson(-0.1, 10), ['-0.1', '[0, 1]'], None),
        ('wilson: ratio NaN', lambda: wilson(nan, 10), ['nan', '[0, 1]'], None),
        ('wilson: 0 samples', lambda: wilson(0.5, 0), ['0', 'positive'], None),
        ('wilson: NaN samples', lambda: wilson(0.5, nan), ['nan'], None),
        ('wilson: conf 1.5', lambda: wilson(0.5, 10, conf=1.5), ['conf', '1.5'], None),
        ('check_eps: 1.5', lambda: check_eps(1.5), ['eps', '1.5'], None),
        ('emm_from_sweep: empty sweep', lambda: emm_from_sweep([], []), ['empty'], None),
        ('emm_from_sweep: ratio 1.5', lambda: emm_from_sweep([10, 20], [0.5, 1.5]), ['1.5', '[0, 1]'], None),
        ('memorization: 0 samples', lambda: memorization(u8[:0], u8), ['no samples'], None),
        ('memorization: float samples in [0, 1]', lambda: memorization(u8.astype(np.float32) / 255, u8), ['uint8', 'float32'], None),
        ('memorization: float training set', lambda: memorization(u8, u8.astype(np.float32)), ['uint8', 'float32'], None),
        ('memorization: one training image', lambda: memorization(u8, u8[:1]), ['2 training images'], None),
        ('memorization: empty training set', lambda: ReferenceSet(u8[:0]), ['2 training images'], None),
        ('memorization: threshold 0', lambda: memorization(u8, u8, threshold=0), ['threshold', '0'], None),
        ('memorization: threshold NaN', lambda: memorization(u8, u8, threshold=nan), ['threshold', 'nan'], None),
        ('memorization: samples of another size', lambda: memorization(u8[:, :4, :4], u8), ['shape'], None),
        ('to_float: float images', lambda: to_float(u8.astype(np.float32) / 255), ['uint8', 'float32'], None),
        ('cifar10_subset: N 0', lambda: cifar10_subset(0, 8), ['N=0'], None),
        ('cifar10_subset: N fractional', lambda: cifar10_subset(20.5, 8), ['20.5', 'whole'], None),
        ('balanced_indices: N 20.0', lambda: balanced_indices(cls, 20.0), ['20.0'],
         lambda r: len(r) == 20),                                               # 20.0 taken as 20: a whole number
        ('cifar10_subset: res 0', lambda: cifar10_subset(20, 0), ['res', '0'], None),
        ('resize: res fractional', lambda: resize(u8, 4.5), ['res', '4.5'], None),
        ('compare: more memorized than samples', lambda: compare({10: (12, 10)}, {10: (5, 10)}), ['12', '10'], None),
        ('compare: 0 samples', lambda: compare({10: (0, 0)}, {10: (5, 10)}), ['0', 'samples'], None),
        ('seed_dispersion: counts above samples', lambda: seed_dispersion([10, 10], [20, 3], [16, 16]), ['20', '16'], None),
    ]

def _raised_in(e) -> tuple[str, bool]:
    "Where `e` was raised (the innermost Python frame) and whether by a `raise` of emm_nb (not torch's C code under an emm_nb line)."
    fr = traceback.extract_tb(e.__traceback__)[-1]
    return f"{fr.filename.replace(str(ROOT) + os.sep, '')}:{fr.lineno}", f"{os.sep}emm_nb{os.sep}" in fr.filename and 'raise' in (fr.line or '')

def run_api(name, fn, words, ok) -> dict:
    "One API case, in this process."
    rec = dict(group='api', name=name, cmd=name.split(':')[0], rc=None, traceback=False, trained=False)
    try: r = fn()
    except Exception as e:
        msg = f"{type(e).__name__}: {e}".replace('\n', ' ')
        where, ours = _raised_in(e)
        rec.update(message=msg, raised_in=where, traceback=not ours,
                   cls='traceback' if not ours else 'clear error' if all(w.lower() in msg.lower() for w in words) else 'unclear')
        return rec
    rec.update(message=f"returned {type(r).__name__}", cls='handled' if ok is not None and ok(r) else 'silent accept')
    return rec

# ------------------------------------------------------------------------------------------------------------ running a command
def env(tmp:Path) -> dict:
    "The environment of every command: CIFAR-10 from $EMM_DATA, other named sets looked for in an empty folder, one thread."
    e = dict(os.environ, EMM_DATASETS=str(tmp / 'datasets'), MPLBACKEND='Agg', OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    e.setdefault('EMM_DATA', str(ROOT.parent / 'shared' / 'data' / 'cifar10'))
    return e

class Proc:
    "A command in its own process group: lines of stdout as they come, stderr at the end."
    def __init__(self, argv, tmp, cwd=None):
        self.argv = argv
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(tmp), cwd=cwd or tmp,
                                  start_new_session=True)
        self.lines, self.err = [], []
        self._t = [threading.Thread(target=self._read, args=(self.p.stdout, self.lines), daemon=True),
                   threading.Thread(target=self._read, args=(self.p.stderr, self.err), daemon=True)]
        for th in self._t: th.start()
    @staticmethod
    def _read(f, out):
        for line in f: out.append(line)
    def wait_line(self, pred, guard=900) -> bool:
        "Wait for a stdout line for which `pred` holds (the event); False if the process ended first. `guard` only stops a hang."
        t0, seen = time.monotonic(), 0
        while time.monotonic() - t0 < guard:
            while seen < len(self.lines):
                if pred(self.lines[seen]): return True
                seen += 1
            if self.p.poll() is not None and not self._t[0].is_alive(): return False
            time.sleep(0.2)
        return False
    def signal(self, sig):
        "Signal the process group; SIGKILL also every descendant outside it (a notebook kernel runs in a session of its own)."
        more = _descendants(self.p.pid) if sig == signal.SIGKILL else []
        try: os.killpg(self.p.pid, sig)
        except ProcessLookupError: pass
        for pid in more:
            try: os.kill(pid, sig)
            except ProcessLookupError: pass
    def wait(self, guard=900) -> int:
        try: self.p.wait(guard)
        except subprocess.TimeoutExpired: self.signal(signal.SIGKILL); self.p.wait(); self.timed_out = True
        for th in self._t: th.join(10)
        return self.p.returncode
    @property
    def out(self): return ''.join(self.lines) + ''.join(self.err)
    def group_alive(self) -> bool:
        "Whether a process of its group still lives (zombies count as ended)."
        for st in Path('/proc').glob('[0-9]*/stat'):
            try: state, _, grp = st.read_text().rsplit(') ', 1)[1].split()[:3]
            except (OSError, IndexError): continue
            if int(grp) == self.p.pid and state != 'Z': return True
        return False

def _descendants(pid:int) -> list[int]:
    "Every live descendant of `pid` (children, their children...)."
    kids = {}
    for st in Path('/proc').glob('[0-9]*/stat'):
        try: kids.setdefault(int(st.read_text().rsplit(') ', 1)[1].split()[1]), []).append(int(st.parent.name))
        except (OSError, IndexError, ValueError): continue
    out, todo = [], [pid]
    while todo: out += (k := kids.get(todo.pop(), [])); todo += k
    return out

def run(argv, tmp, guard=900, cwd=None) -> tuple[int, str, bool]:
    "Run a command to its end: (exit code, stdout + stderr, timed out)."
    pr = Proc(argv, tmp, cwd); rc = pr.wait(guard)
    return rc, pr.out, getattr(pr, 'timed_out', False)

def _trained(folder:Path) -> bool:
    "Whether a run trained (or started) in a study's or a run's folder."
    if not folder.exists(): return False
    names = {'result.json', 'checkpoint.pt', 'metrics.json', 'samples.npz'}
    return any(f.name in names or f.name.startswith('snapshot') for f in folder.rglob('*'))

def _error_line(out:str) -> str:
    "The error line(s) a user reads."
    lines = [l for l in out.splitlines() if ': error:' in l or 'FAILED' in l or l.startswith(('Error', 'error'))]
    if not lines: lines = [l for l in out.splitlines() if l.strip()][-1:]
    return ' | '.join(lines)[:600]

def classify(rc, out, trained, words, timed_out, late_ok=False) -> str:
    if 'Traceback' in out: return 'traceback'
    if rc == 0 or timed_out: return 'silent accept'
    if trained and not late_ok: return 'late error'
    msg = _error_line(out).lower()
    return 'clear error' if all(w.lower() in msg for w in words) else 'unclear'

def run_cli(group, prog, name, argv, words, tmp:Path, i:int, late_ok=False, guard=600) -> dict:
    "One bad input on a console script, with its own --out (or --run-dir) folder."
    d = tmp / f'case{i:03d}'; d.mkdir()
    out = d / 'o'
    subst = lambda a: a.replace('{out}', str(out)).replace('{tmp}', str(tmp)).replace('{ro}', str(tmp / 'ro'))
    args = [subst(a) for a in argv]
    if prog == 'emm_study' and '--out' not in args: args += ['--out', str(out)]
    if prog == 'emm_memorization' and '--out' not in args: args += ['--out', str(out)]
    words = [subst(w) for w in words]
    with SLOTS: rc, text, to = run([str(BIN / prog), *args], tmp, guard, cwd=d)
    folder = out if prog != 'emm_memorization' else d
    trained = _trained(folder) or any(l.startswith('[run ') for l in text.splitlines())
    return dict(group=group, name=name, cmd=shlex.join([prog, *argv]), rc=rc, traceback='Traceback' in text, trained=trained,
                timed_out=to, message=_error_line(text), cls=classify(rc, text, trained, words, to, late_ok), words=words)

# ------------------------------------------------------------------------------------------------------------------ fixtures
def fixtures(tmp:Path) -> dict:
    "Image folders of 20 and 1 images, 32 and 8 px samples, an empty folder, a text file, a truncated config, arrays, a read-only mount."
    from PIL import Image
    rs = np.random.RandomState(0)
    for name, n, s in (('img20', 20, 32), ('img1', 1, 32), ('samples', 8, 32), ('samples8', 8, 8)):
        (tmp / name).mkdir()
        for i in range(n): Image.fromarray(rs.randint(0, 256, (s, s, 3), dtype=np.uint8)).save(tmp / name / f'{i:03d}.png')
    (tmp / 'empty').mkdir(); (tmp / 'datasets').mkdir()
    (tmp / 'notes.txt').write_text('not images\n')
    (tmp / 'truncated.json').write_text('{"lr": 0.001, "bat')
    np.save(tmp / 'float01.npy', rs.rand(8, 32, 32, 3).astype(np.float32))
    np.save(tmp / 'flat.npy', rs.randint(0, 256, (8, 3072), dtype=np.uint8))
    return dict(ro=mount(tmp / 'ro', 'ro,size=1m'))

def mount(path:Path, opts:str) -> bool:
    "A real tmpfs at `path` (root only; read-only or small): False where mounting is not allowed (those cases are not run)."
    path.mkdir(parents=True, exist_ok=True)
    return os.geteuid() == 0 and shutil.which('mount') and \
        subprocess.run(['mount', '-t', 'tmpfs', '-o', opts, 'tmpfs', str(path)], capture_output=True).returncode == 0

def umount(path:Path):
    if os.path.ismount(path): subprocess.run(['umount', '-l', str(path)], capture_output=True)

# -------------------------------------------------------------------------------------------------------------------- faults
def study_cmd(out, *extra): return [str(BIN / 'emm_study'), *DS, '--out', str(out), *extra]

def _counts(text:str) -> dict:
    "The last 'runs: X trained, Y reused ..., Z failed' line, as numbers."
    import re
    m = re.findall(r'runs:? (\d+) trained, (\d+) reused[^,]*, (\d+) failed', text)
    return dict(zip(('trained', 'reused', 'failed'), map(int, m[-1]))) if m else {}

def _valid(f:Path, keys=None) -> bool:
    from emm_nb.cache import read_json, DamagedFile
    try: read_json(f, keys); return True
    except (DamagedFile, OSError): return False

def _results(out:Path) -> dict:
    "Each run's result (timings left out), by run id."
    from emm_nb.cache import read_json
    drop = {'img_per_s', 'train_s', 'wall_s', 'eval_s', 'resumed', 'resumes'}
    return {f.parent.name: {k: v for k, v in read_json(f).items() if k not in drop} for f in sorted(out.glob('runs/*/result.json')) if _valid(f)}

def _summary_fresh(out:Path) -> bool:
    "No summary older than the results it summarizes."
    s = out / 'summary.json'
    return not s.exists() or all(s.stat().st_mtime >= f.stat().st_mtime for f in out.glob('*/results.json'))

def clone(base:Path, dst:Path) -> Path:
    "A copy of a finished study, its notebooks' recorded folders rewritten (a study moved is otherwise rerun, not skipped)."
    from emm_nb.cache import read_json, write_json
    shutil.copytree(base, dst, symlinks=True)
    for f in dst.glob('*/params.json'):
        pr = read_json(f); pr.update(out_dir=str((f.parent).resolve()), cache_dir=str((dst / 'runs').resolve()))
        write_json(f, pr, checksum=True)
    return dst

class Fault:
    "Checks of one fault: `check(name, ok)` records each; handled iff every check holds and no traceback was printed."
    def __init__(self, name, what): self.name, self.what, self.failed, self.texts, self.cmds = name, what, [], [], []
    def check(self, name, ok):
        if not ok: self.failed.append(name)
        return ok
    def run(self, argv, tmp, guard=900):
        self.cmds.append(shlex.join([Path(argv[0]).name, *argv[1:]]))
        with SLOTS: rc, text, _ = run(argv, tmp, guard)
        self.texts.append(text); return rc, text
    def record(self) -> dict:
        tb = any('Traceback' in s for s in self.texts)
        return dict(group='fault', name=self.name, cmd=' ; '.join(self.cmds) or self.what, rc=None, traceback=tb, trained=None,
                    message='; '.join(self.failed) or 'ok', cls='traceback' if tb else 'handled badly' if self.failed else 'handled',
                    what=self.what, failed=self.failed, log_tail=[s[-1500:] for s in self.texts if self.failed or tb])

def f_damaged_run(tmp, base, how):
    "A run's result.json truncated or emptied: the rerun retrains that run only, keeps the results and says what it did."
    f = Fault(f'run result.json {how}', f'a run result.json {how}, then the same command again')
    out = clone(base, tmp / f'dmg_run_{how}')
    r = sorted(out.glob('runs/*/result.json'))[0]
    r.write_text(r.read_text()[:len(r.read_text()) // 2] if how == 'truncated' else '')
    rc, text = f.run(study_cmd(out), tmp)
    f.check('exit code 0', rc == 0)
    f.check('the damaged run retrained (1 trained)', _counts(text).get('trained') == 1)
    f.check('the damage named', 'moved aside' in text or 'damaged' in text)
    f.check('result.json healed', _valid(r))
    f.check('results.json valid', _valid(out / 'data_size' / 'results.json'))
    f.check('summary not stale', _summary_fresh(out))
    return f.record()

def f_damaged_run_other_param(tmp, base):
    "A truncated run result.json, then another parameter (-p eps 0.2): no good result deleted, no stale summary."
    f = Fault('run result.json truncated, rerun with -p eps 0.2', 'a truncated run result.json, then -p eps 0.2')
    out = clone(base, tmp / 'dmg_run_eps'); r = sorted(out.glob('runs/*/result.json'))[0]
    r.write_text(r.read_text()[:40])
    rc, text = f.run(study_cmd(out, '-p', 'eps', '0.2'), tmp)
    f.check('exit code 0', rc == 0)
    f.check('result.json healed', _valid(r))
    f.check('results.json kept or remade', _valid(out / 'data_size' / 'results.json'))
    f.check('summary not stale', _summary_fresh(out))
    return f.record()

def f_damaged_results(tmp, base, how):
    "An experiment's results.json truncated or edited: the notebook runs again (no run trains), the summary is remade."
    f = Fault(f'experiment results.json {how}', f'the experiment results.json {how}, then the same command again')
    out = clone(base, tmp / f'dmg_res_{how.split()[0]}'); r = out / 'data_size' / 'results.json'
    s = r.read_text()
    r.write_text(s[:len(s) // 2] if how == 'truncated' else s.replace('"experiment"', '"experiment" ', 1).replace('0.', '0.5', 1))
    rc, text = f.run(study_cmd(out), tmp)
    f.check('exit code 0', rc == 0)
    f.check('no run trained', _counts(text).get('trained') == 0)
    f.check('results.json healed', _valid(r))
    f.check('summary remade, not stale', (out / 'summary.json').exists() and _summary_fresh(out))
    return f.record()

def f_fractional_on_done(tmp, base):
    "A fractional N given to a finished study's folder: refused before training, and every good file left as it was."
    f = Fault('fractional N on a finished study', '-p ns "[20.5]" on a finished study folder')
    out = clone(base, tmp / 'fractional')
    before = {str(q.relative_to(out)): q.read_bytes() for q in out.rglob('*') if q.is_file()}
    rc, text = f.run(study_cmd(out, '-p', 'ns', '[20.5]'), tmp)
    f.check('exit code 2', rc == 2)
    f.check('message names ns and 20.5', 'ns' in _error_line(text) and '20.5' in _error_line(text))
    after = {str(q.relative_to(out)): q.read_bytes() for q in out.rglob('*') if q.is_file()}
    f.check('no file changed or deleted', after == before)
    return f.record()

def f_read_only(tmp, have):
    "--out on a read-only file system: named before training."
    f = Fault('read-only output', '--out on a read-only tmpfs')
    if not have: rec = f.record(); rec.update(cls='not run', message='mounting a tmpfs is not allowed here'); return rec
    rc, text = f.run(study_cmd(tmp / 'ro' / 'study'), tmp)
    f.check('exit code 2', rc == 2)
    f.check('message names the folder and read-only', str(tmp / 'ro') in text and 'read-only' in text.lower())
    f.check('nothing trained', '[run ' not in text)
    return f.record()

def f_sigint(tmp):
    "One Ctrl-C to the process group while runs are queued: queued runs dropped, exit code 130, a resume hint, the group ends."
    f = Fault('SIGINT with runs queued', 'one SIGINT to the group after the first of six runs (one pool worker)')
    out = tmp / 'sigint'
    with SLOTS:
        pr = Proc(study_cmd(out, '--executor', 'pool', '--devices', 'cpu'), tmp); f.cmds.append(shlex.join(['emm_study', *pr.argv[1:]]))
        got = pr.wait_line(lambda l: l.startswith('[run 1/6]'))
        pr.signal(signal.SIGINT)
        rc = pr.wait(300); ended = not pr.group_alive()
        if not ended: time.sleep(30); ended = not pr.group_alive()
        if not ended: pr.signal(signal.SIGKILL)
    f.texts.append(pr.out)
    f.check('first run finished before the signal', got)
    f.check('exit code 130', rc == 130)
    f.check('queued runs dropped', len(list(out.glob('runs/*/result.json'))) < 6)
    f.check('says what was done and how to resume', 'stopped (Ctrl-C)' in pr.out and 'To resume' in pr.out)
    f.check('every process of the group ended', ended)
    return f.record()

def f_kill9(tmp, base, when):
    "kill -9 of the study's group during training or during the notebook; the rerun resumes and gives the uninterrupted results."
    f = Fault(f'kill -9 during {when}', f'SIGKILL to the group during {when}, then the same command again')
    out = tmp / f'kill9_{when}'
    with SLOTS:
        pr = Proc(study_cmd(out), tmp); f.cmds.append(shlex.join(['emm_study', *pr.argv[1:]]))
        if when == 'training': got = pr.wait_line(lambda l: l.startswith('[run 1/6]'))
        else: got = pr.wait_line(lambda l: l.startswith('[run 6/6]')) and _wait(lambda: _kernel_in(pr.p.pid), 300)
        pr.signal(signal.SIGKILL); pr.wait(60)
    f.texts.append(pr.out)
    f.check(f'killed during {when}', got and not (out / 'data_size' / 'results.json').exists())
    rc, text = f.run(study_cmd(out), tmp)
    f.check('rerun exit code 0', rc == 0)
    f.check('results.json valid', _valid(out / 'data_size' / 'results.json'))
    f.check('runs identical to an uninterrupted study', _results(out) == _results(base))
    if when != 'training': f.check('no run trained again', _counts(text).get('trained') == 0)
    return f.record()

def _wait(cond, guard) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < guard:
        if cond(): return True
        time.sleep(0.2)
    return False

def _kernel_in(pid) -> bool:
    "Whether a notebook kernel descends from `pid` (the study is executing a notebook)."
    for k in _descendants(pid):
        try:
            if b'ipykernel' in Path(f'/proc/{k}/cmdline').read_bytes(): return True
        except OSError: continue
    return False

def f_full_disk(tmp, base):
    "The disk fills after the first run: a clear message, nothing lost; once space is freed the rerun trains only the missing runs."
    f = Fault('full disk during a study', 'a 16 MB tmpfs filled after the first run, then freed and the same command again')
    d = tmp / 'full'
    if not mount(d, 'size=16m'): rec = f.record(); rec.update(cls='not run', message='mounting a tmpfs is not allowed here'); return rec
    try:
        out = d / 'study'
        with SLOTS:
            pr = Proc(study_cmd(out, '--executor', 'local'), tmp); f.cmds.append(shlex.join(['emm_study', *pr.argv[1:]]))
            got = pr.wait_line(lambda l: l.startswith('[run 1/6]'))
            with open(d / 'filler', 'wb') as fh:
                try:
                    while True: fh.write(b'\0' * 65536); fh.flush()
                except OSError: pass
            rc = pr.wait(900)
        f.texts.append(pr.out)
        done = len(list(out.glob('runs/*/result.json')))
        f.check('the disk filled during training', got)
        f.check('exit code 1', rc == 1)
        f.check('says the disk is full', 'no space left' in pr.out.lower() or 'full' in pr.out.lower())
        (d / 'filler').unlink()
        rc2, text = f.run(study_cmd(out, '--executor', 'local'), tmp)
        f.check('rerun exit code 0', rc2 == 0)
        f.check(f'rerun trains only the missing runs ({6 - done})', _counts(text).get('trained') == 6 - done)
        f.check('runs identical to an uninterrupted study', _results(out) == _results(base))
        return f.record()
    finally: umount(d)

def f_two_runners(tmp, base):
    "Two studies on one folder at once: they serialize on the cache lock, each run trains once, both succeed and agree."
    f = Fault('two runners on one folder', 'the same command twice at once')
    out = tmp / 'two'
    with SLOTS, SLOTS:
        a = Proc(study_cmd(out), tmp); b = Proc(study_cmd(out), tmp)
        f.cmds += [shlex.join(['emm_study', *a.argv[1:]])] * 2
        ra, rb = a.wait(900), b.wait(900)
    f.texts += [a.out, b.out]
    f.check('both exit code 0', ra == rb == 0)
    f.check('the logs count each run trained once (6 trained in all)', _counts(a.out).get('trained', -9) + _counts(b.out).get('trained', -9) == 6)
    f.check('summary written, not stale', (out / 'summary.json').exists() and _summary_fresh(out))
    f.check('results.json valid', _valid(out / 'data_size' / 'results.json'))
    f.check('runs identical to one study alone', _results(out) == _results(base))
    return f.record()

# ------------------------------------------------------------------------------------------------------------------- the sweep
def sweep(groups, k, tmp:Path) -> list:
    fx = fixtures(tmp)
    inputs = [('study', 'emm_study', n, a, w, False) for n, a, w in STUDY] + \
             [('train', 'emm_train', c[0], c[1], c[2], len(c) > 3 and c[3]) for c in TRAIN_CASES] + \
             [('memorization', 'emm_memorization', n, a, w, False) for n, a, w in MEM]
    inputs = [c for c in inputs if c[0] in groups and (not k or k in c[2])]
    recs, jobs = [], []
    with ThreadPoolExecutor(4) as pool:                       # the slots keep it to two commands at a time
        for i, (g, prog, n, a, w, late) in enumerate(inputs):
            if '{ro}' in ' '.join(a) and not fx['ro']: recs.append(dict(group=g, name=n, cmd=shlex.join([prog, *a]), cls='not run',
                                                                      message='no read-only mount here')); continue
            jobs.append(pool.submit(run_cli, g, prog, n, a, w, tmp, i, late))
        if 'fault' in groups: jobs.append(pool.submit(faults, tmp, fx, k))
        if 'api' in groups:
            recs += [run_api(*c) for c in api_cases() if not k or k in c[0]]
        for j in jobs:
            r = j.result(); recs += r if isinstance(r, list) else [r]
    order = ['study', 'train', 'memorization', 'api', 'fault']
    return sorted(recs, key=lambda r: order.index(r['group']))

def faults(tmp, fx, k) -> list:
    "The twelve faults; those on a finished study start from copies of one smoke study (trained once)."
    base = tmp / 'base'
    with SLOTS: rc, text, _ = run(study_cmd(base), tmp)
    if rc != 0: return [dict(group='fault', name='base study', cmd=shlex.join(['emm_study', *DS]), cls='handled badly', rc=rc,
                             traceback='Traceback' in text, message=_error_line(text), log_tail=[text[-3000:]])]
    todo = [lambda: f_sigint(tmp), lambda: f_damaged_run(tmp, base, 'truncated'), lambda: f_damaged_run(tmp, base, 'empty'),
            lambda: f_damaged_run_other_param(tmp, base), lambda: f_damaged_results(tmp, base, 'truncated'),
            lambda: f_damaged_results(tmp, base, 'edited (checksum mismatch)'), lambda: f_fractional_on_done(tmp, base),
            lambda: f_read_only(tmp, fx['ro']), lambda: f_kill9(tmp, base, 'training'), lambda: f_kill9(tmp, base, 'notebook'),
            lambda: f_full_disk(tmp, base), lambda: f_two_runners(tmp, base)]
    def safe(fn):
        try: return fn()
        except Exception as e:
            return dict(group='fault', name=getattr(fn, '__name__', 'fault'), cmd='', cls='handled badly', rc=None, traceback=False,
                        message=f"the sweep's own check failed: {type(e).__name__}: {e}", log_tail=[traceback.format_exc()])
    with ThreadPoolExecutor(2) as pool: return list(pool.map(safe, todo))

def report(recs:list, out:Path):
    "The table, the totals, and the JSON."
    w = max(len(r['name']) for r in recs)
    print(f"{'#':>3} {'group':12} {'name':{w}} {'class':13} {'rc':>4} tb trn  message")
    for i, r in enumerate(recs, 1):
        rc = '' if r.get('rc') is None else r['rc']
        print(f"{i:>3} {r['group']:12} {r['name']:{w}} {r['cls']:13} {rc!s:>4} {'Y' if r.get('traceback') else '-'}  "
              f"{'Y' if r.get('trained') else '-'}   {r.get('message', '')[:110]}")
    ins = [r for r in recs if r['group'] != 'fault']; fs = [r for r in recs if r['group'] == 'fault']
    tot = lambda rs: {c: n for c in CLASSES if (n := sum(r['cls'] == c for r in rs))}
    totals = dict(inputs=len(ins), faults=len(fs), input_classes=tot(ins), fault_classes=tot(fs))
    print(f"\n{len(ins)} inputs: " + ', '.join(f"{n} {c}" for c, n in totals['input_classes'].items()))
    print(f"{len(fs)} faults: " + ', '.join(f"{n} {c}" for c, n in totals['fault_classes'].items()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(totals=totals, cases=recs), indent=1, default=str) + '\n')
    print(f"written to {out}")
    return totals

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(Path(tempfile.gettempdir()) / 'emm_bad_inputs.json'), help='the JSON of every case')
    ap.add_argument('--only', default='study,train,memorization,api,fault', help='groups to run (comma-separated)')
    ap.add_argument('-k', default='', help='only the inputs whose name holds this text (the faults run all together)')
    ap.add_argument('--tmp', default=None, help='the folder of every output (default: a new temporary folder, removed at the end)')
    ap.add_argument('--keep', action='store_true', help='keep the temporary folder')
    a = ap.parse_args(argv)
    tmp = Path(a.tmp or tempfile.mkdtemp(prefix='emm_bad_')).resolve(); tmp.mkdir(parents=True, exist_ok=True)
    if str(tmp).startswith(str(Path.home() / '.cache' / 'emm_nb')): ap.error('--tmp must not be under ~/.cache/emm_nb')
    os.environ.update(env(tmp))
    try:
        recs = sweep(set(a.only.split(',')), a.k, tmp)
        report(recs, Path(a.out))
    finally:
        umount(tmp / 'ro')
        if not a.keep and not a.tmp: shutil.rmtree(tmp, ignore_errors=True)
        elif a.keep: print(f"outputs kept in {tmp}")
    return 0

if __name__ == '__main__': sys.exit(main())
