"The study runner end to end at the smoke preset: bad requests refused, results files, kill and resume."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest

EXPERIMENTS = ('data_size', 'resolution', 'conditioning', 'label_classes')

def emm_study(*args, **kw):
    return subprocess.run([sys.executable, '-c', 'import sys; from emm_nb.runner import main; sys.exit(main())', *args],
                          capture_output=True, text=True, **kw)

@pytest.mark.parametrize('args,msg', [
    (['--preset', 'laptop'], 'unknown preset'),
    (['--factors', 'data_size,hair'], 'unknown factor'),
    (['-p', 'colour', 'red'], 'unknown parameter'),
    (['-p', 'ns', '[]'], 'empty grid'),
    (['-p', 'eps', '1.5'], 'eps'),
    (['-p', 'out_dir', 'x'], 'set by the runner'),
])
def test_bad_requests_refused_before_running(tmp_path, args, msg):
    r = emm_study('--out', str(tmp_path / 'o'), *args)
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert not (tmp_path / 'o').exists()                       # nothing ran, nothing written

def test_missing_data_refused_before_running(tmp_path):
    r = emm_study('--preset', 'smoke', '--out', str(tmp_path / 'o'), env={**os.environ, 'EMM_DATA': str(tmp_path / 'nowhere')})
    assert r.returncode == 2 and 'no CIFAR-10 in' in r.stderr and str(tmp_path / 'nowhere') in r.stderr, r.stderr
    assert not (tmp_path / 'o').exists()

def test_out_is_a_file(tmp_path):
    f = tmp_path / 'f'; f.write_text('x')
    r = emm_study('--preset', 'smoke', '--out', str(f))
    assert r.returncode == 2 and 'is a file' in r.stderr

def _results(out):
    return {e: json.loads((out / e / 'results.json').read_text()) for e in EXPERIMENTS}

def test_smoke_study_kill_and_resume(tmp_path, data_root):
    out = tmp_path / 'study'
    sel = ['--factors', ','.join(EXPERIMENTS)]                  # the other factors run in tests/test_executors.py
    cmd = [sys.executable, '-c', 'import sys; from emm_nb.runner import main; sys.exit(main())', '--preset', 'smoke', '--out', str(out), *sel]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    while p.poll() is None and not list((out / 'runs').glob('*/result.json')): time.sleep(0.5)   # waits on the event, not a clock
    os.killpg(p.pid, signal.SIGKILL); p.wait()                 # killed mid-study, after its first finished run
    before = {f: f.stat().st_mtime_ns for f in (out / 'runs').glob('*/result.json')}
    assert before, "no run finished before the kill"
    r = emm_study('--preset', 'smoke', '--out', str(out), *sel, '--executor', 'local')   # killed: auto (2 workers here); resumed: local
    assert r.returncode == 0, r.stdout + r.stderr
    for f, t in before.items(): assert f.stat().st_mtime_ns == t, f"finished run {f.parent.name} was recomputed"
    res = _results(out)
    for e, d in res.items():
        assert d['experiment'] == e and d['preset'] == 'smoke' and d['finding'] and (d['agrees'] is None or isinstance(d['agrees'], bool))
        for s in d['settings']:
            for p_ in s['points']: assert 0 <= p_['ratio'] <= 1 and p_['k'] % 16 == 0 and p_['n'] % 10 == 0   # K pooled over seeds
            assert s['emm'] is None or s['emm'] > 0
        assert (out / e / f'{e}.ipynb').exists() and (out / e / f'{e}.png').exists()
    assert {s['setting'] for s in res['resolution']['settings']} == {'8x8', '16x16'}
    assert {s['setting'] for s in res['conditioning']['settings']} == {'none', 'true', 'random'}
    for s in res['conditioning']['settings']:                  # each label kind tested against none, with a verdict in words
        assert (s['setting'] == 'none') == ('test' not in s) and (s['setting'] == 'none' or s['verdict'])
    rows = json.loads((out / 'summary.json').read_text())
    assert {r_['experiment'] for r_ in rows} == set(EXPERIMENTS)
    assert (out / 'summary.csv').read_text().startswith('experiment,setting')
    assert (out / 'summary.ipynb').exists() and (out / 'summary.png').exists()
    # one setting, one EMM: the baseline reads the same on every page that shows it
    base = res['data_size']['settings'][0]
    for e, lab in [('resolution', '8x8'), ('conditioning', 'none')]:
        assert [s for s in res[e]['settings'] if s['setting'] == lab][0]['text'] == base['text'], e
    assert base['fit']['runs'] == 4 and [p_['repeats'] for p_ in base['points']] == [2, 2]   # seeds 0, 1 at N = 10, 20
    page = (out / 'data_size' / 'data_size.ipynb').read_text()        # the runs table labels each run by the arm that measured it
    assert '<td>seed 1</td><td>10</td><td>1</td>' in page and '<td>fresh seed 2</td><td>20</td><td>2</td>' in page
    # a third call finds everything done
    r = emm_study('--preset', 'smoke', '--out', str(out), *sel)
    assert r.returncode == 0 and r.stdout.count('already done, skipped') == len(EXPERIMENTS)

def test_empty_second_source_refused_before_training(tmp_path, data_root):
    "An empty second source is refused with the request, before any run trains: rc 2, the parameter named, no runs, no summary (a study where no experiment finishes: tests/test_bad_inputs.py)."
    empty = tmp_path / 'no_images'; empty.mkdir()                    # a second source with nothing in it
    out = tmp_path / 'o'
    r = emm_study('--preset', 'smoke', '--out', str(out), '--factors', 'intra_diversity', '-p', 'second', str(empty), '--executor', 'local')
    assert r.returncode == 2, r.stdout + r.stderr
    assert "second=" in r.stderr and 'no images' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert not any((out / 'runs').glob('*/result.json')) and not (out / 'summary.csv').exists()
