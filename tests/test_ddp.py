"""Data-parallel training under torchrun on CPU (gloo, 2 processes), and a memorization evaluation that gives the
same answer with 1 and 2 processes (the sample seeds are split across processes and gathered)."""
import json, os, subprocess, sys
from pathlib import Path
import torch
from emm_nb.data import cifar10_subset
from emm_nb.training import load_denoiser
from emm_nb.memeval import MemEval

ROOT = Path(__file__).resolve().parent.parent

def test_ddp_train_and_eval(data_root, tmp_path):
    run = tmp_path/'run'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
           str(Path(__file__).with_name('ddp_job.py')), str(run), str(tmp_path/'two.pt')]
    r = subprocess.run(cmd, env={**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads([l for l in r.stdout.splitlines() if l.startswith('{')][-1])   # printed once, by rank 0
    m = json.loads((run/'metrics.json').read_text())
    assert m['finished'] and m['step'] == 32 and len(m['curve']) == 2 and summary['step'] == 32
    ck = torch.load(run/'checkpoint.pt')
    assert len(ck['rng']) == 2 and not torch.equal(ck['rng'][0]['cpu'], ck['rng'][1]['cpu'])   # a noise stream per process
    # the same evaluation in this single process: identical samples and ratio
    threads = torch.get_num_threads(); torch.set_num_threads(1)
    try:
        ev = MemEval(cifar10_subset(16, res=8, classes=4).images_u8, 25, num_steps=4, batch=6)
        x = ev.samples(load_denoiser(run)); one = ev(load_denoiser(run))
    finally: torch.set_num_threads(threads)
    two = torch.load(tmp_path/'two.pt')
    assert (ev.world, two['world']) == (1, 2) and x.shape == (25, 8, 8, 3)
    assert torch.equal(x, two['samples'])
    assert one.ratio == two['ratio'] and one.knn_distance == two['knn']
