"""SeriesScaled: a series network reading each series z-normalised (and its scale)."""

import numpy as np
import pytest
import torch

from sklearn_mlarch import CNNClassifier, CNNRegressor
from sklearn_mlarch.networks import CNNNetwork, InceptionNetwork, SeriesScaled


def _net(keep_scale=False, body=CNNNetwork, **kwargs):
    torch.manual_seed(0)
    return SeriesScaled(body, (2, 24), keep_scale=keep_scale, n_outputs=3,
                        **kwargs).eval()


def test_the_level_and_amplitude_of_a_series_reach_the_body_only_with_keep_scale():
    x = torch.randn(5, 2, 24)
    moved = 3.0 * x + 7.0  # every series' level and amplitude changed
    plain, scaled = _net(), _net(keep_scale=True)
    torch.testing.assert_close(plain(x), plain(moved), atol=1e-5, rtol=1e-4)
    assert not torch.allclose(scaled(x), scaled(moved), atol=1e-3)
    z = plain.scaled(x)
    torch.testing.assert_close(z.mean(-1), torch.zeros(5, 2), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(-1, unbiased=False), torch.ones(5, 2), atol=1e-4, rtol=0)
    extra = scaled.scaled(x)[:, 2:]
    torch.testing.assert_close(extra[:, :2, 0], torch.asinh(x.mean(-1)))
    torch.testing.assert_close(extra[:, 2:, 0], torch.log(x.std(-1, unbiased=False)))


@pytest.mark.parametrize("amplitude", [1e-30, 1e-10, 1e-6, 1e19, 1e30])
def test_z_is_the_same_at_any_amplitude(amplitude):
    # before: the sum of squares overflowed float32 above ~1e19 (z all 0 at
    # 1e30, NaN near 3e38), and an absolute 1e-8 flattened z below ~1e-6
    net = _net(keep_scale=True)
    x = torch.rand(4, 2, 24) * 2 - 1
    torch.testing.assert_close(net.scaled(x * amplitude)[:, :2], net.scaled(x)[:, :2],
                               atol=1e-5, rtol=1e-5)
    largest = x / x.abs().amax() * torch.finfo(torch.float32).max
    z = net.scaled(largest)
    assert torch.isfinite(z).all()
    torch.testing.assert_close(z[:, :2], net.scaled(x)[:, :2], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("level", [1e3, 1e6, -1e30])
def test_the_scale_channels_stay_bounded_at_any_level(level):
    # before: the mean was appended raw, so a level of 1e3 brought back the
    # scales the normalisation removes (a batch-norm network then saw chance)
    net = _net(keep_scale=True)
    x = torch.randn(4, 2, 24) + level
    extra = net.scaled(x)[:, 2:]
    assert torch.isfinite(extra).all() and extra.abs().max() < 90
    torch.testing.assert_close(extra[:, :2, 0], torch.asinh(x.double().mean(-1)).float())


def test_names_and_weights_are_the_bodys():
    net = _net(body=InceptionNetwork, channels=(4, 4))
    torch.manual_seed(0)
    body = InceptionNetwork((2, 24), n_outputs=3, channels=(4, 4))
    assert list(net.state_dict()) == list(body.state_dict())
    assert net.variable_length is False  # the body's attributes read through


def test_padding_is_left_out_of_the_statistics():
    net = _net(keep_scale=True, variable_length=True)
    short = torch.randn(1, 2, 16)
    padded = torch.cat([short, torch.full((1, 2, 8), float("nan"))], dim=-1)
    torch.testing.assert_close(net(padded), net(short), atol=1e-5, rtol=1e-4)


def test_the_estimators_option_and_its_refusal_for_images():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 1, 30) * rng.uniform(1, 100, (40, 1, 1))  # amplitudes 1..100
    y = X.std(axis=2)[:, 0]
    reg = CNNRegressor(normalize="series+scale", channels=(4,), max_epochs=2,
                       random_state=0).fit(X, y)
    assert isinstance(reg.net_.module_, SeriesScaled) and reg.net_.module_.keep_scale
    assert reg.predict(X).shape == (40,)
    with pytest.raises(ValueError, match="normalize='series' is for signals"):
        CNNClassifier(normalize="series", max_epochs=1).fit(rng.rand(20, 1, 6, 6),
                                                            np.arange(20) % 2)
