"""Random numbers for a network from a generator of the caller's, not torch's global one.

Training code that must be reproducible under threads (two models trained at
once in one process) cannot seed torch's global generator: the threads would
draw from, and reseed, the same state. :func:`use_generator` makes a
generator current for the calling thread; :class:`Dropout` draws its masks
from it. Without a current generator, :class:`Dropout` is ``torch.nn.Dropout``.
"""

import contextlib
import threading

import torch
from torch import nn

_current = threading.local()


@contextlib.contextmanager
def use_generator(generator):
    """Make ``generator`` the source of :class:`Dropout` masks in this thread.

    A context manager: the previous source is restored on exit.

    Parameters
    ----------
    generator : torch.Generator or None
        Draws the dropout masks inside the block; None uses torch's global
        generator.

    Examples
    --------
    >>> import torch
    >>> drop = Dropout(0.5).train()
    >>> x = torch.ones(2, 6)
    >>> with use_generator(torch.Generator().manual_seed(0)):
    ...     a = drop(x)
    >>> with use_generator(torch.Generator().manual_seed(0)):
    ...     b = drop(x)
    >>> torch.equal(a, b)
    True
    """
    previous = getattr(_current, "generator", None)
    _current.generator = generator
    try:
        yield generator
    finally:
        _current.generator = previous


def current_generator():
    """The generator made current by :func:`use_generator` in this thread, or None."""
    return getattr(_current, "generator", None)


class Dropout(nn.Dropout):
    """``torch.nn.Dropout`` drawing its mask from the thread's current generator.

    Same scaling as ``torch.nn.Dropout`` (kept values divided by ``1 - p``).
    """

    def forward(self, x):
        generator = current_generator()
        if not self.training or self.p == 0 or generator is None:
            return super().forward(x)
        if self.p == 1:
            return torch.zeros_like(x)
        # uniform >= p keeps a value with probability 1 - p; on the CPU this is
        # about twice as fast as bernoulli_, torch's own dropout mask
        mask = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x * mask.ge(self.p).to(x.dtype).div_(1 - self.p)


def uses_global_rng(module):
    """Whether ``module`` draws random numbers from torch's global generator in training.

    True for torch's own dropout layers and recurrent layers with dropout
    between them; the package's :class:`Dropout` is not counted.
    """
    for m in module.modules():
        if isinstance(m, Dropout):
            continue
        if isinstance(m, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
                          nn.AlphaDropout, nn.FeatureAlphaDropout)) and m.p > 0:
            return True
        if isinstance(m, nn.RNNBase) and m.dropout > 0 and m.num_layers > 1:
            return True
    return False
