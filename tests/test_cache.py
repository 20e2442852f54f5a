"Run cache shared by independent interpreter processes (the notebook's tests fork; these start fresh Pythons)."
import json, os, signal, subprocess, sys, time
from pathlib import Path
from emm_nb.cache import RunCache

RUNNER = r'''
import json, os, sys, time
from pathlib import Path
from emm_nb.cache import RunCache, write_json, read_json
root, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def fn(config, run_dir):
    with open(Path(root).parent / 'calls.txt', 'a') as f: f.write(f'{os.getpid()}\n')
    ck = run_dir / 'ckpt.json'
    start = read_json(ck)['step'] if ck.exists() else 0
    for step in range(start, 10):
        write_json(ck, dict(step=step + 1)); time.sleep(0.1)
        if mode == 'hang' and step == 3: time.sleep(60)
    return dict(n=config['n'], resumed_from=start, pid=os.getpid())
res = RunCache(root).run(dict(n=n, res=8), fn, wait=mode != 'skip', poll=0.05)
print(json.dumps(res))
'''

def _start(tmp, n, mode):
    env = {**os.environ, 'PYTHONPATH': str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, '-c', RUNNER, str(tmp / 'runs'), str(n), mode],
                            stdout=subprocess.PIPE, text=True, env=env)

def _calls(tmp): return (tmp / 'calls.txt').read_text().split() if (tmp / 'calls.txt').exists() else []

def test_two_runners_compute_once(tmp_path):
    ps = [_start(tmp_path, 100, 'wait') for _ in range(3)]
    outs = [json.loads(p.communicate(timeout=60)[0]) for p in ps]
    assert all(p.returncode == 0 for p in ps)
    assert len(_calls(tmp_path)) == 1 and len({json.dumps(o) for o in outs}) == 1
    assert outs[0]['resumed_from'] == 0
    # a later runner reads the result without computing
    p = _start(tmp_path, 100, 'wait'); assert json.loads(p.communicate(timeout=60)[0]) == outs[0]
    assert len(_calls(tmp_path)) == 1

def test_skip_while_running(tmp_path):
    a = _start(tmp_path, 200, 'wait')
    while not _calls(tmp_path): time.sleep(0.02)                 # a holds the run
    b = _start(tmp_path, 200, 'skip')
    assert b.communicate(timeout=60)[0].strip() == 'null'        # b skipped it
    assert json.loads(a.communicate(timeout=60)[0])['n'] == 200 and len(_calls(tmp_path)) == 1

def test_killed_runner_resumes(tmp_path):
    a = _start(tmp_path, 300, 'hang')
    cache, cfg = RunCache(tmp_path / 'runs'), dict(n=300, res=8)
    ck = cache.dir(cfg) / 'ckpt.json'
    while not (ck.exists() and json.loads(ck.read_text())['step'] >= 4):   # waits on the checkpoint, not a clock
        assert a.poll() is None, "the runner ended before its 4th step"; time.sleep(0.05)
    assert cache.state(cfg) == 'running'
    a.send_signal(signal.SIGKILL); a.wait(timeout=10)
    assert cache.state(cfg) == 'partial' and cache.get(cfg) is None
    b = _start(tmp_path, 300, 'wait')
    res = json.loads(b.communicate(timeout=60)[0])
    assert res['resumed_from'] == 4 and cache.get(cfg) == res and len(_calls(tmp_path)) == 2
