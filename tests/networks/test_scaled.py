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
    torch.testing.assert_close(extra[:, :2, 0], x.mean(-1))
    torch.testing.assert_close(extra[:, 2:, 0], torch.log(x.std(-1, unbiased=False) + 1e-8))


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
