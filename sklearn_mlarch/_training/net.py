"""skorch net with sample weights, seeded epochs and tensor batching."""

import numpy as np
import torch
from skorch import NeuralNet

from ..utils._threads import torch_threads, worker_threads
from .data import ArrayDataset, BatchIterator

PREDICT_CHUNK = 128


class WeightedNeuralNet(NeuralNet):
    """:class:`skorch.NeuralNet` whose loss is weighted per sample.

    The criterion must be built with ``reduction='none'``. The loss of a
    batch is ``sum(w_i * l_i) / sum(w_i)``, so an integer weight ``k`` on
    one sample equals ``k`` copies of it when the batch holds all the data.

    The targets handed to :meth:`get_loss` are the pair ``(y, w)`` produced
    by :class:`~sklearn_mlarch._training.ArrayDataset`.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`skorch.NeuralNet`.
    dtype : torch.dtype, default=torch.float32
        Floating point type of the module's parameters.
    """

    def __init__(self, *args, dtype=torch.float32, **kwargs):
        super().__init__(*args, **kwargs)
        self.dtype = dtype

    def initialize_module(self):
        super().initialize_module()
        self.module_.to(dtype=self.dtype)
        return self

    def _set_training(self, training=True):
        # skorch switches the mode before every batch; walking the module tree
        # costs ~4 % of a small network's step, so switch only on a change.
        if getattr(self, "module_", None) is not None and self.module_.training == training:
            return
        super()._set_training(training)

    def get_dataset(self, X, y=None):
        if isinstance(X, ArrayDataset):
            return X
        return ArrayDataset(X, y)

    def get_iterator(self, dataset, training=False):
        batch_size = self.batch_size if self.batch_size > 0 else len(dataset)
        return BatchIterator(dataset, batch_size, shuffle=training,
                             generator=getattr(self, "shuffle_generator_", None))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y, w = y_true
        loss = self.criterion_(y_pred, y.to(self.device, non_blocking=True))
        if w is None:  # equal weights: the plain mean, fewer kernels per batch
            return loss.mean()
        w = w.to(self.device, dtype=loss.dtype, non_blocking=True)
        tiny = torch.finfo(loss.dtype).tiny
        if w.ndim == 2:
            # weights (B, M): M ensemble members, each its own weighted mean,
            # summed so every member gets the gradient it would get alone
            return ((loss * w).sum(0) / w.sum(0).clamp_min(tiny)).sum()
        if loss.ndim > 1:  # multi-output regression: average the outputs
            loss = loss.flatten(1).mean(dim=1)
        # clamp: a batch whose weights are all zero contributes no gradient
        return (loss * w).sum() / w.sum().clamp_min(tiny)

    def train_epochs(self, dataset, epochs, seed):
        """Train ``epochs`` epochs on ``dataset`` with all randomness from ``seed``.

        Initialisation (on the first call), shuffling and dropout draw from
        ``seed``; torch's global random state is restored afterwards so that
        fitting has no side effect on the caller's random numbers.
        """
        devices = [torch.cuda.current_device()] if str(self.device).startswith("cuda") else []
        with torch.random.fork_rng(devices=devices), torch_threads(worker_threads()):
            torch.manual_seed(seed)
            self.shuffle_generator_ = torch.Generator().manual_seed(seed)
            if not self.initialized_:
                self.initialize()
            self.notify("on_train_begin", X=dataset, y=None)
            try:
                self.fit_loop(dataset, None, epochs=epochs)
            except KeyboardInterrupt:  # as skorch: stop training, keep the model
                pass
            self.notify("on_train_end", X=dataset, y=None)
        return self

    def predict_raw(self, X, embed=False, chunk=PREDICT_CHUNK):
        """Network output (or with ``embed``, penultimate features) as float64 numpy.

        Rows go through the network in chunks of exactly ``chunk`` rows (the
        last one padded with copies of a real row), so a sample's result
        does not depend on how many others are computed with it: kernels
        chosen by batch size round differently in float32.
        """
        self.check_is_fitted()
        n = len(X)
        n_pad = -n % chunk
        if n_pad:
            X = np.concatenate([X, np.repeat(X[-1:], n_pad, axis=0)])
        self._set_training(False)
        outputs = []
        with torch.no_grad():
            for Xi, _ in BatchIterator(ArrayDataset(X), chunk):
                Xi = Xi.to(self.device)
                out = self.module_.embed(Xi) if embed else self.infer(Xi)
                outputs.append(out.cpu())
        return torch.cat(outputs)[:n].reshape(n, *outputs[0].shape[1:]).numpy().astype(np.float64)
