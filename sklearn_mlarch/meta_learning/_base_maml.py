"""What MAML and first-order MAML share: the inner-loop network built from the
wrapped estimator's, adaptation, and scoring a task for
:func:`evaluate_adaptation`.

A meta-estimator learns an initialisation of a network from many small
tasks; ``adapt(X_support, y_support)`` then takes a few gradient steps from
it on a new task and returns an ordinary fitted estimator. Meta-training
goes through the package's one training engine (:mod:`._episodic`): the
network is wrapped in :class:`~sklearn_mlarch._training.meta.MAMLModule`,
whose forward adapts to each task of a meta-batch, and the engine's
optimizer step is the meta-update.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch.func import functional_call

from .._training.meta import InnerLoop, MAMLModule
from .._training.net import in_fixed_chunks
from .._training.stream import in_memory
from ..networks import CNNNetwork
from ._episodic import REFUSED, _BaseEpisodic

# settings of the wrapped estimator that MAML cannot use, with the reason
_REFUSED = {
    **REFUSED,
    "dropout": ((0.0, 0), "dropout would make the inner steps random."),
    "freeze": ((None,), "every parameter is meta-learned."),
}


def build_maml_module(network, network_kwargs, n_outputs, loss, inner_lr, inner_steps,
                      first_order, shared_head=False):
    """The wrapped estimator's network, sized for the episodes, in its inner loop."""
    shared = n_outputs if shared_head else None
    kwargs = dict(network_kwargs, n_outputs=1 if shared_head else n_outputs)
    if network is CNNNetwork:
        kwargs["channels_last"] = False  # no vmap rule for it
    return MAMLModule(network(**kwargs), loss, inner_lr, inner_steps, first_order, shared)


class _BaseMAML(_BaseEpisodic):
    _parameter_constraints = {
        **_BaseEpisodic._parameter_constraints,
        "first_order": ["boolean"],
        "inner_lr": [Interval(Real, 0, None, closed="neither")],
        "inner_steps": [Interval(Integral, 1, None, closed="left")],
        "adapt_steps": [None, Interval(Integral, 1, None, closed="left")],
    }
    _refused = _REFUSED
    _applied_on_warm_start = _BaseEpisodic._applied_on_warm_start | {"adapt_steps"}
    _divergence_advice = ("estimator__lr", "a smaller inner_lr, ")

    def _module(self, network, kwargs, targets):
        return build_maml_module, dict(
            network=network, network_kwargs=kwargs, n_outputs=targets.n_outputs,
            loss=self._loss, inner_lr=self.inner_lr, inner_steps=self.inner_steps,
            first_order=self.first_order, **self._head_kwargs())

    def _head_kwargs(self):
        return {}

    # ------------------------------------------------------------- adaptation
    def _inner_loop(self):
        """Adaptation with the current ``inner_lr`` (which need not be the meta-training one)."""
        module = self.net_.module_
        return InnerLoop(module.network, self._loss, self.inner_lr,
                         shared_head=module.shared_head)

    def _adapted_params(self, X, y, steps, n_classes=None):
        """Network parameters after ``steps`` gradient steps on ``(X, y)``, detached.

        ``n_classes``: a classification task's number of classes (a shared
        head adapts to any number of them). The parameters are made contiguous:
        a gradient step can leave a transposed layout, whose matrix products
        round differently from the contiguous copy that a saved model loads.
        """
        module = self.net_.module_
        device = self.net_.device
        params = {k: v.detach() for k, v in module.network.named_parameters()}
        buffers = dict(module.network.named_buffers())
        X = torch.as_tensor(in_memory(X), device=device)  # a support set: small
        y = torch.as_tensor(y, device=device)
        with torch.no_grad():  # torch.func.grad still differentiates inside
            adapted = self._inner_loop().adapt(params, buffers, X, y, steps, n_classes)
        return {k: v.contiguous() for k, v in adapted.items()}

    def _adapt_steps(self):
        return self.adapt_steps if self.adapt_steps is not None else self.inner_steps

    def _network_output(self, params, X):
        """Output of the network with ``params`` on validated ``X``, as float64 numpy."""
        network = self.net_.module_.network
        network.eval()  # the engine sets the mode it trains in
        # transductive batch norm normalises the rows predicted together: all
        # of X in one batch (padding or chunks would change the statistics)
        chunk = max(len(X), 1) if self.net_.module_.batch_norm else None
        return in_fixed_chunks(lambda Xi: functional_call(network, params, (Xi,)), X,
                               self.net_.device, chunk=chunk)

    def _task_scores(self, Xs, ys, Xq, yq, steps):
        """Scores on a task's query set after each number of ``steps`` (sorted) of
        adaptation to its support set: accuracy, or mean squared error."""
        classify = hasattr(self, "classes_")
        n_classes = int(ys.max()) + 1 if classify else None
        params = {k: v.detach() for k, v in self.net_.module_.network.named_parameters()}
        device = self.net_.device
        Xs, ys = torch.as_tensor(Xs, device=device), torch.as_tensor(ys, device=device)
        loop, row, done = self._inner_loop(), [], 0
        buffers = dict(self.net_.module_.network.named_buffers())
        for target in steps:
            with torch.no_grad():
                params = loop.adapt(params, buffers, Xs, ys, target - done, n_classes)
            done = target
            out = self._network_output(params, Xq)
            if classify:
                row.append(float(np.mean(out[:, :n_classes].argmax(1) == yq)))
            else:
                row.append(float(np.mean((out - np.asarray(yq).reshape(out.shape)) ** 2)))
        return row

    def _adapted_type(self):
        from ._adapted import AdaptedClassifier, AdaptedRegressor

        return AdaptedClassifier if hasattr(self, "n_way") else AdaptedRegressor
