"""Augmentation of training batches (the ``augment`` parameter of the CNN estimators).

The engine applies an :class:`Augmenter` to each training batch as it is
drawn (:class:`~sklearn_mlarch._training.data.BatchIterator`), never to
validation rows nor at prediction. Batch ``i`` of epoch ``e`` draws from a
generator seeded by ``(seed, e, i)``, so ``k`` epochs then ``m`` more give
the same weights as ``k + m`` at once.
"""

import inspect

import numpy as np
import torch

#: built-in augmentations for images (C, H, W) and for series (C, L)
IMAGE_AUGMENTS = ("crop", "flip")
SERIES_AUGMENTS = ("jitter", "scale", "window")


def batch_seed(seed, epoch, batch):
    """A seed that depends only on ``(seed, epoch, batch)`` (stream 3 of the engine)."""
    return int(np.random.SeedSequence([int(seed), int(epoch), 3, int(batch)])
               .generate_state(1)[0])


def _draw(fn, shape, generator, like):
    """``fn(shape, generator)`` on the CPU, as ``like``'s dtype and device."""
    return fn(shape, generator=generator, dtype=like.dtype).to(like.device)


def crop(X, generator):
    """Random crop of images ``(B, C, H, W)`` zero-padded by 10 % of each side
    (at least one pixel): each image shifted by up to that many pixels."""
    n, _, h, w = X.shape
    ph, pw = max(1, round(0.1 * h)), max(1, round(0.1 * w))
    padded = torch.nn.functional.pad(X, (pw, pw, ph, ph))
    dy = torch.randint(0, 2 * ph + 1, (n,), generator=generator).to(X.device)
    dx = torch.randint(0, 2 * pw + 1, (n,), generator=generator).to(X.device)
    rows = dy[:, None] + torch.arange(h, device=X.device)
    cols = dx[:, None] + torch.arange(w, device=X.device)
    out = padded[torch.arange(n, device=X.device)[:, None, None], :,
                 rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def flip(X, generator):
    """Horizontal flip of images ``(B, C, H, W)``, each with probability 0.5."""
    mask = torch.rand(len(X), generator=generator).to(X.device) < 0.5
    return torch.where(mask[:, None, None, None], X.flip(-1), X)


def jitter(X, generator):
    """Gaussian noise of 0.03 times each channel's standard deviation, on
    series ``(B, C, L)`` (NaN padding of shorter series left out of it)."""
    std = (X - X.nanmean(-1, keepdim=True)).square().nanmean(-1, keepdim=True).sqrt()
    return X + 0.03 * std * _draw(torch.randn, X.shape, generator, X)


def scale(X, generator):
    """Each series ``(C, L)`` of a batch multiplied by a factor drawn from N(1, 0.1)."""
    return X * (1 + 0.1 * _draw(torch.randn, (len(X), 1, 1), generator, X))


def window(X, generator):
    """Window slicing of series ``(B, C, L)``: a random window of 90 % of the
    length stretched back to ``L`` with linear interpolation."""
    n, c, length = X.shape
    size = max(2, round(0.9 * length)) if length > 1 else 1
    start = torch.randint(0, length - size + 1, (n,), generator=generator).to(X.device)
    steps = torch.linspace(0, size - 1, length, device=X.device, dtype=torch.float64)
    pos = start[:, None].to(torch.float64) + steps
    lo = pos.floor().long().clamp(0, length - 1)
    hi = (lo + 1).clamp(max=length - 1)
    frac = (pos - lo).to(X.dtype)[:, None, :]
    lo, hi = (i[:, None, :].expand(n, c, length) for i in (lo, hi))
    return X.gather(-1, lo) * (1 - frac) + X.gather(-1, hi) * frac


BUILT_INS = {"crop": crop, "flip": flip, "jitter": jitter, "scale": scale, "window": window}


def _takes_generator(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return (any(p.kind == p.VAR_POSITIONAL for p in params)
            or len(positional) >= 2)


def _fits(shape):
    return IMAGE_AUGMENTS if len(shape) == 3 else SERIES_AUGMENTS


def resolve(augment, sample_shape, ragged=False):
    """``augment`` as a list of callables ``f(X_batch, generator)``, checked.

    Raises ValueError for an unknown name, or a name that does not fit
    samples of ``sample_shape`` (images (C, H, W) or series (C, L)), or
    'window' on series of different lengths (``ragged``: NaN-padded).
    """
    if augment is None:
        return []
    if callable(augment):
        if _takes_generator(augment):
            return [augment]
        return [lambda X, generator: augment(X)]
    names = [augment] if isinstance(augment, str) else list(augment)
    kind = "images (C, H, W)" if len(sample_shape) == 3 else "series (C, L)"
    fits = _fits(sample_shape)
    for name in names:
        if not isinstance(name, str) or name not in BUILT_INS:
            raise ValueError(
                f"augment={augment!r}: {name!r} is not a built-in augmentation; the "
                f"built-ins are {sorted(BUILT_INS)} (images: {list(IMAGE_AUGMENTS)}, "
                f"series: {list(SERIES_AUGMENTS)}), or pass a callable.")
        if name not in fits:
            raise ValueError(
                f"augment={augment!r}: {name!r} does not fit the samples, {kind} of shape "
                f"{tuple(sample_shape)}; for these the built-ins are {list(fits)}.")
    if ragged and "window" in names:
        raise ValueError(
            f"augment={augment!r}: 'window' stretches series of one length, but X holds "
            "series of different lengths; 'jitter' and 'scale' fit them.")
    return [BUILT_INS[name] for name in names]


class Augmenter:
    """Applies ``augment`` to training batches, seeded by ``(seed, epoch, batch)``.

    Parameters
    ----------
    augment : callable, str or list of str
        The estimator's ``augment`` parameter (not None).
    sample_shape : tuple of int
        Shape of one sample, ``(C, L)`` or ``(C, H, W)``.
    seed : int
        The estimator's seed.
    ragged : bool, default=False
        Whether the series are of different lengths (NaN-padded).
    """

    def __init__(self, augment, sample_shape, seed, ragged=False):
        self.augment = augment
        self.sample_shape = tuple(sample_shape)
        self.seed = seed
        self.steps = resolve(augment, self.sample_shape, ragged)
        self.generator = torch.Generator()
        self.epoch = 0

    def __call__(self, X, batch):
        """Batch number ``batch`` of the current epoch, augmented."""
        self.generator.manual_seed(batch_seed(self.seed, self.epoch, batch))
        shaped = X if X.dim() == len(self.sample_shape) + 1 else (
            X.reshape(len(X), *self.sample_shape))
        out = shaped
        for step in self.steps:
            new = step(out, self.generator)
            if (not isinstance(new, torch.Tensor) or new.shape != out.shape
                    or new.dtype != out.dtype):
                got = (f"a tensor of shape {tuple(new.shape)} and dtype {new.dtype}"
                       if isinstance(new, torch.Tensor) else f"a {type(new).__name__}")
                raise ValueError(
                    f"augment={self.augment!r} returned {got} for a batch of shape "
                    f"{tuple(out.shape)} and dtype {out.dtype}: it must return a tensor of "
                    "the same shape and dtype.")
            out = new
        return out.reshape(X.shape)
