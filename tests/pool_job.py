"A pool whose jobs never end on their own: run as a script by test_executors to kill the study under its workers."
import os, sys, time
from pathlib import Path

def wait_job(task:dict, device=None) -> dict:
    "Write this worker's pid, then wait for a release file (which the test writes only to clean up)."
    d = Path(task['dir'])
    (d / f"pid-{task['name']}").write_text(str(os.getpid()))
    while not (d / 'release').exists(): time.sleep(0.2)
    return dict(status='ok')

if __name__ == '__main__':
    sys.path.insert(0, str(Path(__file__).parent))
    from emm_nb.executors import run_pool
    from pool_job import wait_job as job           # importable by the spawned workers (not __main__'s copy)
    run_pool(job, [dict(dir=sys.argv[1], name=n) for n in 'ab'], ['cpu', 'cpu'])
