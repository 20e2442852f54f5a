"""Worker for tests/test_ddp.py, run under torchrun: joins a gloo process group, trains through the command-line
entry point (which then uses that group), and evaluates the trained EMA network with MemEval (samples and ratio
saved by rank 0)."""
import os, sys
import torch, torch.distributed as dist
from emm_nb.data import cifar10_subset
from emm_nb.training import main, load_denoiser
from emm_nb.memeval import MemEval

run_dir, out = sys.argv[1], sys.argv[2]
dist.init_process_group('gloo')
main(['--preset', 'tiny', '--data', 'n=16,res=8,classes=4', '--run-dir', run_dir, '--no-progress', '--set',
      'batch=16', 'epochs=32', 'snapshot_epochs=16', 'eval_samples=25', 'eval_steps=4', 'eval_batch=6', 'log_steps=4', 'stop_at=null'])
ev = MemEval(cifar10_subset(16, res=8, classes=4).images_u8, 25, num_steps=4, batch=6)
r = ev(load_denoiser(run_dir))
x = ev.samples(load_denoiser(run_dir))
if dist.get_rank() == 0: torch.save(dict(samples=x, ratio=r.ratio, knn=r.knn_distance, world=ev.world), out)
dist.destroy_process_group()
sys.stdout.flush(); sys.stderr.flush()
os._exit(0)   # no interpreter teardown: a thread of torch's gloo backend sometimes aborts there ("terminate called without an active exception")
