"Beyond the paper: the ELS machine reduces to the optimum, and the learned-versus-optimal gap has its known values."
import numpy as np
import pytest
import torch
from emm_nb.data import cifar10_subset
from emm_nb.optimal import OptimalDenoiser
from emm_nb.els import ELSDenoiser, PatchSchedule, r2_score
from emm_nb.gap import denoiser_gap, held_out_subset
from emm_nb.sampling import sample_latents, heun_sample, to_uint8, edm_sigmas
from emm_nb.metrics import memorization


@pytest.fixture(scope='module')
def sub(data_root): return cifar10_subset(100, res=8, root=data_root)


def test_ls_with_whole_image_window_is_the_optimum(sub):
    "Locality with a window covering the image from every pixel, no equivariance: exactly D*, at every level."
    y = sub.images.double()
    x = y[:8] + 0.7 * torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    Ds = OptimalDenoiser(y)
    for boundary in ('zeros', 'mask'):
        ls = ELSDenoiser(y, 15, equivariant=False, boundary=boundary, chunk_q=3)
        for s in edm_sigmas()[:-1].tolist():
            assert (ls(x, s) - Ds(x, s)).abs().max().item() < 1e-12, (boundary, s)


def test_els_samples_are_not_copies(sub):
    "Through the unchanged sampler and metric: the optimum copies every sample, a small-window ELS machine does not."
    small = cifar10_subset(20, res=8)
    z = sample_latents(range(12), (3, 8, 8))
    els = ELSDenoiser(small.images, PatchSchedule(edm_sigmas(4)[:-1], [5, 3, 3, 1]))
    s_els, s_opt = (to_uint8(heun_sample(D, z)) for D in (els, OptimalDenoiser(small.images)))
    assert memorization(s_opt, small.images_u8).ratio == 1.0
    assert memorization(s_els, small.images_u8).ratio < 0.5
    assert (r2_score(s_els.float(), s_opt.float()) < 1).all()


def test_gap_known_values(sub):
    "Gap 0 for D = D*, exactly 1 for D(x) = x, and positive for the optimum of other images, on training and held-out images."
    Ds = OptimalDenoiser(sub.images)
    held = held_out_subset(50)
    other = OptimalDenoiser(cifar10_subset(100, res=8, seed=5).images)
    for images in (sub.images, held.images):
        sig = [20., 1., 0.05]
        assert [r['gap'] for r in denoiser_gap(Ds, Ds, images, sig, n_noise=1, n_boot=100)] == [0.] * 3
        np.testing.assert_allclose([r['gap'] for r in denoiser_gap(lambda x, s, labels=None: x, Ds, images, sig, n_noise=1, n_boot=100)], 1., atol=1e-12)
        r = denoiser_gap(other, Ds, images, [0.5], n_noise=2, n_boot=200)[0]
        assert r['gap'] > 0 and r['lo'] <= r['gap'] <= r['hi']


def test_gap_of_a_trained_net(tmp_path):
    "A (briefly) trained network: a positive, finite gap with an interval, from its run folder and snapshots."
    from emm_nb.training import TrainConfig, train
    from emm_nb.gap import gap_of_run, list_snapshots
    cfg = TrainConfig.preset('tiny', epochs=30 * 64 / 10, snapshot_epochs=15 * 64 / 10, eval_samples=4, eval_batch=4,
                             stop_at=None, save_snapshots=True)
    train(cfg, cifar10_subset(10, res=8), tmp_path / 'run', progress=False)
    assert list_snapshots(tmp_path / 'run') == [15, 30]
    g = gap_of_run(tmp_path / 'run', 15, held=held_out_subset(10), n_noise=2, sigmas=[2., 0.2])
    for key in ('train', 'held'):
        for r in g[key]: assert 0 < r['lo'] <= r['gap'] <= r['hi'] < np.inf
