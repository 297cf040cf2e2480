"""A series network that reads each series z-normalised, and optionally its scale.

Series whose level or amplitude differs from one sample to the next (a
spectrum's absorbance, an appliance's current) reach a network in one of
two bad ways: raw, where a few large series dominate the batch statistics
of batch normalisation and its running estimates mislead prediction, or
z-normalised by the user, where the level and amplitude (which may carry
the class or the target) are gone. :class:`SeriesScaled` z-normalises each
series and channel inside the network, and with ``keep_scale`` gives the
body each channel's level (``asinh`` of its mean) and amplitude (log of its
standard deviation) as two more constant channels, so the scale is an input
rather than a distortion.
"""

import torch
from torch import nn

#: added to a series' standard deviation over its peak (a constant series has none)
EPS = 1e-8


class SeriesScaled(nn.Module):
    """``body`` reading each series and channel z-normalised (and its scale).

    The body's blocks are this module's own (``trunk``, ``head``, ...), so
    block names, freezing and saved weights are the body's.

    Parameters
    ----------
    body : type of nn.Module
        The series network (a :class:`CNNNetwork` for signals,
        :class:`ResNetNetwork`, :class:`InceptionNetwork`), built for
        ``(C + 2 C, L)`` inputs with ``keep_scale``, ``(C, L)`` without.
    input_shape : tuple of int
        ``(C, L)``.
    keep_scale : bool, default=False
        Append each channel's ``asinh`` of the mean and log of the standard
        deviation over time as ``2 C`` constant channels (both bounded: a
        raw mean would be as large as the series).
    **kwargs
        The body's other arguments.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mlarch.networks import CNNNetwork
    >>> net = SeriesScaled(CNNNetwork, (2, 30), keep_scale=True, n_outputs=3)
    >>> x = torch.randn(4, 2, 30)
    >>> net(x).shape
    torch.Size([4, 3])
    >>> plain = SeriesScaled(CNNNetwork, (2, 30), n_outputs=3).eval()
    >>> bool(torch.allclose(plain(x), plain(10 * x + 5), atol=1e-5))  # level, amplitude
    True
    """

    def __init__(self, body, input_shape, keep_scale=False, **kwargs):
        super().__init__()
        channels, length = (int(s) for s in input_shape)
        inner = body(input_shape=(channels * (3 if keep_scale else 1), length), **kwargs)
        # the body's blocks registered here: names and state dict are the body's
        object.__setattr__(self, "_body", inner)
        for name, child in inner.named_children():
            self._modules[name] = child  # (add_module would find it through the body)
        self.input_shape, self.keep_scale = (channels, length), bool(keep_scale)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            body = self.__dict__.get("_body")
            if body is None:
                raise
            return getattr(body, name)  # variable_length, out_features, ...

    def scaled(self, x):
        """``x`` z-normalised per series and channel over its real steps (NaN:
        padding, kept), with the level and amplitude appended as channels."""
        pad = torch.isnan(x)
        real = (~pad).to(x.dtype)
        steps = real.sum(-1, keepdim=True).clamp_min(1)
        x0 = torch.where(pad, torch.zeros((), dtype=x.dtype, device=x.device), x)
        # the statistics of x over its peak: the sum of squares cannot overflow
        # (series near the dtype's largest value), and EPS is relative to the
        # series' own size, so z is the same at any amplitude
        peak = x0.abs().amax(-1, keepdim=True)
        peak = torch.where(peak > 0, peak, torch.ones_like(peak))
        u = x0 / peak
        mean = u.sum(-1, keepdim=True) / steps
        std = ((((u - mean) * real) ** 2).sum(-1, keepdim=True) / steps).sqrt()
        z = (x / peak - mean) / (std + EPS)
        if not self.keep_scale:
            return z
        # the level as asinh(mean) and the amplitude as log(std): bounded
        # (|.| < 90 in float32) where the raw level would bring back the
        # scales that the normalisation removes
        level = torch.asinh(mean * peak)
        amplitude = torch.log(std + EPS) + torch.log(peak)
        scale = torch.cat([level, amplitude], dim=1).expand(-1, -1, x.shape[-1])
        step_pad = pad.all(dim=1, keepdim=True)
        scale = torch.where(step_pad, torch.full((), float("nan"), dtype=x.dtype,
                                                 device=x.device), scale)
        return torch.cat([z, scale], dim=1)

    def embed(self, x):
        """Penultimate-layer features of a batch ``x``."""
        return self._body.embed(self.scaled(x))

    def forward(self, x):
        return self._body(self.scaled(x))
