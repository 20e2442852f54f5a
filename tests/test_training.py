"""Training loop: resume after a real kill is bit-identical (CPU), the NaN/inf guard keeps the last good checkpoint,
bad configurations are refused with clear errors, classifier-free guidance runs, and the tiny net memorizes a tiny
real CIFAR-10 subset quickly."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest, torch
from emm_nb.data import cifar10_subset
from emm_nb.diffusion import DenoisingLoss
from emm_nb.training import TrainConfig, ConfigError, NonFiniteLoss, train, load_denoiser

ROOT = Path(__file__).resolve().parent.parent
# a short run: N=16 at 8x8, batch 16, 32 steps, a snapshot every 8 steps (16 samples, 4 Heun steps)
SHORT = dict(batch=16, epochs=32., snapshot_epochs=8., eval_samples=16, eval_steps=4, eval_batch=16, log_steps=4, stop_at=None)

@pytest.fixture(scope='module')
def d16(data_root): return cifar10_subset(16, res=8, classes=4)

def _cfg(**kw): return TrainConfig.preset('tiny', **{**SHORT, **kw})

def _ck(run): return torch.load(Path(run)/'checkpoint.pt')

def _same_weights(a, b):
    return all(torch.equal(a[w][k], b[w][k]) for w in ('net', 'ema') for k in a[w])

def test_resume_after_kill_is_bit_identical(d16, tmp_path):
    cfg = _cfg()
    full = train(cfg, d16, tmp_path/'full', progress=False)
    # the same run in another process, killed (SIGKILL) after its second snapshot (step 16) and before the end
    code = (f"from emm_nb.training import train, TrainConfig; from emm_nb.data import cifar10_subset\n"
            f"train(TrainConfig.from_dict({cfg.to_dict()!r}), cifar10_subset(16, res=8, classes=4), {str(tmp_path/'killed')!r}, progress=False)")
    p = subprocess.Popen([sys.executable, '-c', code], env={**os.environ, 'PYTHONPATH': str(ROOT)})
    stats = tmp_path/'killed'/'stats.jsonl'
    while True:                                                  # waits on the step count, not a clock
        if p.poll() is not None: pytest.fail('the run to be killed finished first')
        if stats.exists() and any(json.loads(l)['step'] >= 20 for l in stats.read_text().splitlines()): break
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL); p.wait()
    killed_at = _ck(tmp_path/'killed')['step']
    assert 16 <= killed_at < 32
    resumed = train(cfg, d16, tmp_path/'killed', progress=False)
    assert _same_weights(_ck(tmp_path/'full'), _ck(tmp_path/'killed'))
    assert _ck(tmp_path/'full')['opt']['state'][0]['exp_avg_sq'].equal(_ck(tmp_path/'killed')['opt']['state'][0]['exp_avg_sq'])
    strip = lambda c: [{k: v for k, v in s.items() if k != 'eval_s'} for s in c]
    assert strip(resumed['curve']) == strip(full['curve']) and len(full['curve']) == 4
    # stats.jsonl holds each step once, in order, with the same losses
    lines = lambda r: [json.loads(l) for l in (tmp_path/r/'stats.jsonl').read_text().splitlines()]
    key = lambda ls: [(l['step'], l.get('loss'), l.get('mem')) for l in ls]
    assert key(lines('full')) == key(lines('killed'))

def test_nan_guard_keeps_last_good_checkpoint(d16, tmp_path, monkeypatch):
    orig, calls = DenoisingLoss.__call__, [0]
    def poisoned(self, *a, **k):
        calls[0] += 1
        loss = orig(self, *a, **k)
        return loss * float('nan') if calls[0] > 18 else loss
    monkeypatch.setattr(DenoisingLoss, '__call__', poisoned)
    with pytest.raises(NonFiniteLoss, match=r'non-finite loss \(nan\).*last good checkpoint'):
        train(_cfg(), d16, tmp_path/'run', progress=False)
    ck = _ck(tmp_path/'run')
    assert ck['step'] == 16 and all(torch.isfinite(v).all() for v in ck['net'].values())
    monkeypatch.setattr(DenoisingLoss, '__call__', orig)
    assert train(_cfg(), d16, tmp_path/'run', progress=False)['finished']        # resumes from the good checkpoint

@pytest.mark.parametrize('over,msg', [
    (dict(net='unet9'), "unknown network 'unet9'"),
    (dict(precision='fp16'), "unknown precision 'fp16'"),
    (dict(net_kwargs=dict(label_dim=10)), 'label count mismatch: the data has 0 classes'),
    (dict(net_kwargs=dict(attn_resolutions=(16,))), 'attention resolutions [16] are not among'),
    (dict(net_kwargs=dict(skip_mask=[True] * 5)), 'skip_mask has 5 entries'),
    (dict(net_kwargs=dict(arch='transformer')), "unknown arch 'transformer'"),
    (dict(batch=0), 'batch must be a positive integer'),
    (dict(eval_guidance=3.), 'needs a conditional network'),
])
def test_bad_configs(d16, over, msg):
    with pytest.raises(ConfigError) as e: train(_cfg(**over), d16, None, progress=False)
    assert msg in str(e.value)

def test_unknown_key_and_label_mismatch(data_root):
    with pytest.raises(ConfigError, match="unknown TrainConfig key"): train({'lr': 1e-3, 'betas': (0.9, 0.99)}, None)
    d = cifar10_subset(20, res=8, labels='random', label_classes=5)
    with pytest.raises(ConfigError, match='label count mismatch: the data has 5 classes'):
        train(_cfg(net_kwargs=dict(label_dim=10)), d, None, progress=False)

def test_classifier_free_guidance_run(data_root, tmp_path):
    d = cifar10_subset(20, res=8, labels='true', classes=2)
    m = train(_cfg(net_kwargs=dict(label_dropout=0.2), eval_guidance=2., epochs=16.), d, tmp_path/'run', progress=False)
    assert m['finished'] and 0 <= m['max_mem'] <= 1
    D = load_denoiser(tmp_path/'run')
    assert D.net.label_dim == 2 and not D.training

def test_tiny_net_memorizes_tiny_cifar10(data_root, tmp_path):
    """The 0.65M-parameter net memorizes N=16 real CIFAR-10 images at 8x8 (>= 90 % of 256 samples) within the tiny
    procedure's budget of 4,000 epochs (1,000 steps of batch 64), checked every 100 steps on 64 samples. One machine gets there at
    400 steps, a CPU with AMX at 500: bf16/oneDNN kernels differ between CPU models, so the test asserts the outcome
    within a budget 2-2.5x past those trajectories, never the step at which one machine got there. Speed is measured
    by bench/train.py, not here."""
    m = train(TrainConfig.preset('tiny', snapshot_epochs=400., eval_samples=64, eval_batch=64), cifar10_subset(16, res=8, classes=8), tmp_path/'run', progress=False)
    print(f"N=16: {m['max_mem']:.3f} after {m['step']} steps ({m['epochs']:.0f} epochs), {m['img_per_s']:.0f} img/s")
    assert m['finished'] and m['max_mem'] >= 0.9                 # memorized at some snapshot within the budget (the run stops at 90 %)

def test_img_resolution_in_net_kwargs(d16, tmp_path):
    "The resolution may be given in net_kwargs when it matches the data (it used to raise a TypeError); else a ConfigError."
    m = train(_cfg(net_kwargs=dict(img_resolution=8), epochs=8.), d16, None, progress=False)
    assert m['finished']
    with pytest.raises(ConfigError, match='resolution mismatch: data is 8x8, net_kwargs img_resolution=16'):
        train(_cfg(net_kwargs=dict(img_resolution=16)), d16, None, progress=False)

def test_truncated_checkpoint_names_the_file(d16, tmp_path):
    from emm_nb.rundir import RunDirError
    train(_cfg(epochs=8.), d16, tmp_path/'run', progress=False, max_steps=4)
    ck = tmp_path/'run'/'checkpoint.pt'
    ck.write_bytes(ck.read_bytes()[:1000])                      # a disk that filled up, a copy cut short
    with pytest.raises(RunDirError, match=r'checkpoint.pt cannot be read .*truncated or corrupt; delete it') as e:
        train(_cfg(epochs=8.), d16, tmp_path/'run', progress=False)
    assert str(ck) in str(e.value)
    ck.unlink()                                                 # what the message says to do
    assert train(_cfg(epochs=8.), d16, tmp_path/'run', progress=False)['finished']

def test_channels_follow_the_data(d16, tmp_path):
    """A one-channel training set trains a one-channel network, which its run folder rebuilds; in_channels or out_channels
    in net_kwargs must match the data (else a ConfigError naming both)."""
    import dataclasses
    gray = dataclasses.replace(d16, images_u8=d16.images_u8[..., :1])
    m = train(_cfg(epochs=8., net_kwargs=dict(in_channels=1)), gray, tmp_path/'run', progress=False)
    D = load_denoiser(tmp_path/'run')
    assert m['finished'] and D.net.in_channels == 1
    assert D(torch.zeros(2, 1, 8, 8, dtype=torch.float64), 1.).shape == (2, 1, 8, 8)
    with pytest.raises(ConfigError, match=r'channel mismatch: the data has 3 channel\(s\), net_kwargs in_channels=1'):
        train(_cfg(net_kwargs=dict(in_channels=1)), d16, None, progress=False)
