"""Meta-batches of few-shot tasks, sampled on the fly for the training engine.

A sampler draws ``T`` tasks at a time, each a support set (to adapt on) and
a query set (to score the adapted network on), as tensors with a leading
task axis. Three sources:

- :class:`TaskFamilySampler`: a generator of task families such as
  :class:`sklearn_mlarch.datasets.SinusoidTasks`;
- :class:`GroupSampler`: rows of ``X, y`` grouped into tasks by ``groups``;
- :class:`EpisodeSampler`: N-way K-shot classification episodes from the
  classes of ``y``, with the N classes in a random order (labels 0..N-1).

Meta-iteration ``i`` draws from a generator seeded by ``(seed, i)`` alone,
so ``k`` meta-iterations then ``m`` more draw the same tasks as ``k + m``
at once, however the engine splits them into epochs. Everything is
vectorised: one meta-batch is a handful of tensor operations.
"""

import math

import numpy as np
import torch

from .data import Batch
from .stream import LazyRows


def as_rows(X):
    """``X`` as a tensor, or as it is when read batch by batch (:class:`LazyRows`)."""
    return X if isinstance(X, LazyRows) else torch.as_tensor(X)

#: meta-iterations per engine epoch (one row of the history, one log line)
ITERATIONS_PER_EPOCH = 100


_MASK = (1 << 64) - 1


def _seed(seed, iteration):
    """A well-mixed 63-bit seed from ``(seed, iteration)`` (splitmix64's finaliser).

    Called once per meta-iteration, so cheaper than numpy's SeedSequence.
    """
    z = (int(seed) * 0x9E3779B97F4A7C15 + int(iteration) + 0x632BE59BD9B4E019) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return (z ^ (z >> 31)) >> 1


def _padded_index(codes, n_codes):
    """``(n_codes, max_count)`` row indices of each code, padded with -1, and counts."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_codes)
    table = np.full((n_codes, max(counts.max(initial=1), 1)), -1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for c in range(n_codes):
        table[c, :counts[c]] = order[starts[c]:starts[c] + counts[c]]
    return torch.as_tensor(table), torch.as_tensor(counts)


def _random_rows(table, counts, which, n, generator):
    """``n`` distinct rows, drawn at random, of each code in ``which`` (any shape)."""
    rows, lengths = table[which], counts[which]
    keys = torch.rand(rows.shape, generator=generator)
    keys = keys.masked_fill(torch.arange(rows.shape[-1]) >= lengths[..., None], 2.0)
    picked = keys.argsort(dim=-1)[..., :n]
    return rows.gather(-1, picked)


class _Sampler:
    """Base: meta-batches for the engine, positioned at a global meta-iteration."""

    device = "cpu"
    #: verbose progress counts ``position`` up to ``stop`` in these
    progress_unit = "meta-iteration"

    def __init__(self, n_support, n_query, start=0, n_iterations=1):
        self.n_support = n_support
        self.n_query = n_query
        self.position = start
        self.stop = start + n_iterations

    def epochs(self):
        """How many engine epochs cover the remaining meta-iterations."""
        return max(1, math.ceil((self.stop - self.position) / ITERATIONS_PER_EPOCH))

    def sample(self, n_tasks, generator):
        """``(support_X, support_y, query_X, query_y)`` of ``n_tasks`` tasks."""
        raise NotImplementedError

    def make_iterator(self, net):
        return _MetaBatches(self, net.batch_size, net.seed, net.history)

    def nbytes(self):
        return 0

    def to(self, device):
        self.device = device
        return self


class _MetaBatches:
    def __init__(self, sampler, n_tasks, seed, history):
        self.sampler, self.n_tasks, self.seed = sampler, n_tasks, seed
        self.history = history

    def __len__(self):
        return min(ITERATIONS_PER_EPOCH, self.sampler.stop - self.sampler.position)

    def __iter__(self):
        s = self.sampler
        generator = torch.Generator()
        for _ in range(len(self)):
            generator.manual_seed(_seed(self.seed, s.position))
            Xs, ys, Xq, yq = s.sample(self.n_tasks, generator)
            if str(s.device) != "cpu":
                Xs, ys, Xq, yq = (t.to(s.device, non_blocking=True) for t in (Xs, ys, Xq, yq))
            s.position += 1
            yield Batch(Episodes(support_X=Xs, support_y=ys, query_X=Xq),
                        yq.reshape(-1, *yq.shape[2:]))
        # the meta-iterations done so far: a column of the verbose table
        self.history.record("meta_iter", s.position)


class Episodes(dict):
    """The inputs of a meta-batch; its length is the number of tasks."""

    def __len__(self):
        return len(self["support_X"])


def task_family_sample(family, n_tasks, n_points, generator):
    """``family.sample(...)``, checked: tensors ``(T, n, *shape)`` and ``(T, n, D)``, finite.

    numpy arrays are accepted and converted.
    """
    sample = family.sample(n_tasks, n_points, generator)
    try:
        X, y = (torch.as_tensor(t) for t in sample)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(
            f"The task family's sample({n_tasks}, {n_points}, generator) must return a pair "
            f"(X, y) of tensors or numpy arrays of numbers; it returned "
            f"{type(sample).__name__} ({exc}).") from exc
    expected = (n_tasks, n_points)
    if X.ndim < 3 or y.ndim != 3 or tuple(X.shape[:2]) != expected or \
            tuple(y.shape[:2]) != expected:
        raise ValueError(
            f"The task family's sample({n_tasks}, {n_points}, generator) must return X of "
            f"shape ({n_tasks}, {n_points}, *sample_shape) and y of shape ({n_tasks}, "
            f"{n_points}, n_outputs); it returned {tuple(X.shape)} and {tuple(y.shape)}.")
    if not (torch.isfinite(X).all() and torch.isfinite(y).all()):
        raise ValueError("The task family's sample returned NaN or infinite values.")
    return X, y


class TaskFamilySampler(_Sampler):
    """Tasks drawn from a task family's ``sample(n_tasks, n_points, generator)``."""

    def __init__(self, family, n_support, n_query, dtype, **kwargs):
        super().__init__(n_support, n_query, **kwargs)
        self.family, self.dtype = family, dtype

    def sample(self, n_tasks, generator):
        X, y = task_family_sample(self.family, n_tasks, self.n_support + self.n_query,
                                  generator)
        X, y = X.to(self.dtype), y.to(self.dtype)
        k = self.n_support
        return X[:, :k], y[:, :k], X[:, k:], y[:, k:]


class GroupSampler(_Sampler):
    """Tasks given as the groups of ``X, y``: each draw takes distinct rows of one group."""

    def __init__(self, X, y, group_codes, n_groups, n_support, n_query, **kwargs):
        super().__init__(n_support, n_query, **kwargs)
        self.X, self.y = as_rows(X), torch.as_tensor(y)
        self.table, self.counts = _padded_index(group_codes, n_groups)

    def sample(self, n_tasks, generator):
        tasks = torch.randint(len(self.counts), (n_tasks,), generator=generator)
        rows = _random_rows(self.table, self.counts, tasks, self.n_support + self.n_query,
                            generator)
        X, y, k = self.X[rows], self.y[rows], self.n_support
        return X[:, :k], y[:, :k], X[:, k:], y[:, k:]

    def nbytes(self):
        return 0 if isinstance(self.X, LazyRows) else self.X.element_size() * self.X.nelement()


class EpisodeSampler(_Sampler):
    """N-way K-shot episodes: N of the classes, in random order, K + Q rows of each.

    ``n_support`` and ``n_query`` count rows per class.
    """

    def __init__(self, X, y_codes, n_classes, n_way, n_support, n_query, **kwargs):
        super().__init__(n_support, n_query, **kwargs)
        self.X = as_rows(X)
        self.n_way = n_way
        self.table, self.counts = _padded_index(y_codes, n_classes)

    def sample(self, n_tasks, generator):
        n_classes = len(self.counts)
        classes = torch.rand(n_tasks, n_classes, generator=generator).argsort(1)[:, :self.n_way]
        rows = _random_rows(self.table, self.counts, classes, self.n_support + self.n_query,
                            generator)  # (T, N, K + Q)
        labels = torch.arange(self.n_way)[None, :, None]
        k = self.n_support

        def flat(r):
            X = self.X[r].reshape(n_tasks, -1, *self.X.shape[1:])
            return X, labels.expand(n_tasks, -1, r.shape[-1]).reshape(n_tasks, -1)

        return (*flat(rows[..., :k]), *flat(rows[..., k:]))

    def nbytes(self):
        return 0 if isinstance(self.X, LazyRows) else self.X.element_size() * self.X.nelement()


class ValidationEpisodes:
    """The same ``n_tasks`` episodes of ``sampler`` at every call of :meth:`episodes`.

    Meta-validation scores every epoch on one fixed set of episodes, drawn
    in chunks of ``chunk`` tasks from generators seeded by ``seed``; only
    the indices are redrawn, so no copy of the episodes is kept.
    """

    def __init__(self, sampler, n_tasks, chunk, seed):
        self.sampler, self.n_tasks, self.chunk, self.seed = sampler, n_tasks, chunk, seed

    def episodes(self):
        generator = torch.Generator()
        for i, start in enumerate(range(0, self.n_tasks, self.chunk)):
            generator.manual_seed(_seed(self.seed, i))
            yield self.sampler.sample(min(self.chunk, self.n_tasks - start), generator)
