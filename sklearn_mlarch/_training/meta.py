"""The MAML inner loop: gradient steps on a task's support set, in torch.func.

:class:`InnerLoop` adapts a network's parameters to one task with plain
gradient descent, written with :func:`torch.func.grad` and
:func:`torch.func.functional_call` so that the adapted parameters are a
function of the initial ones. :class:`MAMLModule` wraps a network for the
training engine: its forward takes a meta-batch of episodes (support and
query sets of several tasks), adapts to each support set (vectorised over
the tasks with :func:`torch.func.vmap`) and returns the query predictions
of the adapted networks, flattened so that an ordinary objective scores
them. The engine's optimizer step on that loss is the meta-update
(Finn, Abbeel and Levine, "Model-Agnostic Meta-Learning for Fast
Adaptation of Deep Networks", ICML 2017).

``first_order=True`` drops the second-order terms (the gradient of the
inner gradients): FOMAML, from the same paper.
"""

import torch
from torch import nn
from torch.func import functional_call, grad, replace_all_batch_norm_modules_, vmap
from torch.nn import functional as F

LOSSES = {
    "squared_error": lambda out, y: ((out - y.reshape(out.shape)) ** 2).mean(),
    "cross_entropy": lambda out, y: F.cross_entropy(out, y),
}


def check_adaptable(network):
    """Raise when ``network`` holds layers the functional inner loop cannot adapt.

    Dropout makes the inner-loop gradient random: refused with the fix.
    Batch normalisation is accepted: :func:`transductive_batch_norm` makes
    it normalise with each task's own statistics.
    """
    for name, module in network.named_modules():
        if isinstance(module, (nn.modules.dropout._DropoutNd)) and module.p > 0:
            raise ValueError(
                f"The network's layer {name!r} is dropout with p={module.p}: the inner "
                "loop's gradient steps would be random. Use dropout=0 in MAML networks.")


def transductive_batch_norm(network):
    """Make every batch-norm layer of ``network`` normalise with its batch's statistics.

    The running statistics are dropped (:func:`torch.func.replace_all_batch_norm_modules_`),
    in training and in evaluation alike: under :func:`torch.func.vmap` each
    task is normalised with the statistics of its own rows, as in the MAML
    paper's code ("transductive" batch norm: a query set is normalised with
    the statistics of the rows predicted together). Returns whether the
    network has batch norm.
    """
    has = any(isinstance(m, nn.modules.batchnorm._NormBase) for m in network.modules())
    if has:
        replace_all_batch_norm_modules_(network)
    return has


class InnerLoop:
    """Gradient-descent adaptation of a network's parameters to one task.

    Parameters
    ----------
    network : torch.nn.Module
        Called functionally; its own parameters are not changed.
    loss : {'squared_error', 'cross_entropy'}
    lr : float
        Step size of each inner gradient step.
    first_order : bool, default=False
        Treat the inner gradients as constants (FOMAML).
    shared_head : int, default=None
        The network's head has one output row (``head.weight`` of shape
        ``(1, H)``, ``head.bias`` of shape ``(1,)``) that every task starts
        with for each of its ``shared_head`` classes: the initialisation
        treats all classes alike, whatever their order in an episode (Ye and
        Chao, "How to Train Your MAML to Excel in Few-Shot Classification",
        ICLR 2022).
    """

    def __init__(self, network, loss, lr, first_order=False, shared_head=None):
        self.network = network
        self.loss = LOSSES[loss]
        self.lr = lr
        self.first_order = first_order
        self.shared_head = shared_head

    def start(self, params, n_classes=None):
        """The task's starting parameters: the shared head row copied for each class.

        ``n_classes`` (default ``shared_head``): the task's number of classes;
        a shared head adapts to any number of them.
        """
        n = self.shared_head if n_classes is None else n_classes
        if self.shared_head is None or params["head.weight"].shape[0] == n:
            return params
        params = dict(params)
        params["head.weight"] = params["head.weight"].expand(n, -1)
        params["head.bias"] = params["head.bias"].expand(n)
        return params

    def _support_loss(self, params, buffers, X, y):
        return self.loss(functional_call(self.network, (params, buffers), (X,)), y)

    def adapt(self, params, buffers, X, y, steps, n_classes=None):
        """Parameters after ``steps`` gradient steps on ``(X, y)``.

        First order: the inner gradients are taken at detached parameters,
        so no graph of the support passes is kept for the meta-gradient.
        """
        params = self.start(params, n_classes)
        for _ in range(steps):
            at = {k: p.detach() for k, p in params.items()} if self.first_order else params
            grads = grad(self._support_loss)(at, buffers, X, y)
            params = {k: p - self.lr * grads[k] for k, p in params.items()}
        return params

    def adapt_and_predict(self, params, buffers, X_support, y_support, X_query, steps):
        adapted = self.adapt(params, buffers, X_support, y_support, steps)
        return functional_call(self.network, (adapted, buffers), (X_query,))


class MAMLModule(nn.Module):
    """A network whose forward adapts to each task of a meta-batch, then predicts.

    Parameters
    ----------
    network : torch.nn.Module
        Maps a batch of samples to outputs; its parameters are the
        meta-learned initialisation.
    loss : {'squared_error', 'cross_entropy'}
        The inner-loop loss (the objective of the outer loop is the same).
    inner_lr : float
    inner_steps : int
    first_order : bool, default=False
    shared_head : int, default=None
        Number of classes that share the network's one-row head (see
        :class:`InnerLoop`).

    Notes
    -----
    ``forward(support_X, support_y, query_X)`` takes tensors with a leading
    task axis ``(T, n, ...)`` and returns the query outputs ``(T * m, D)``.
    Tasks are vectorised with :func:`torch.func.vmap`; a network with
    operations vmap has no rule for (recurrent and convolutional layers in
    torch 2.x) is adapted one task after the other, with the same result.

    Examples
    --------
    >>> import torch
    >>> maml = MAMLModule(torch.nn.Linear(1, 1), "squared_error", inner_lr=0.1, inner_steps=1)
    >>> maml(torch.zeros(4, 5, 1), torch.zeros(4, 5, 1), torch.zeros(4, 3, 1)).shape
    torch.Size([12, 1])
    """

    def __init__(self, network, loss, inner_lr, inner_steps, first_order=False,
                 shared_head=None):
        super().__init__()
        check_adaptable(network)
        self.batch_norm = transductive_batch_norm(network)
        self.network = network
        self.loss = loss
        self.inner_lr = inner_lr
        self.inner_steps = inner_steps
        self.first_order = first_order
        self.shared_head = shared_head
        self.vectorised = True

    def inner_loop(self):
        return InnerLoop(self.network, self.loss, self.inner_lr, self.first_order,
                         self.shared_head)

    def forward(self, support_X, support_y, query_X):
        loop = self.inner_loop()
        params = dict(self.network.named_parameters())
        buffers = dict(self.network.named_buffers())

        def one_task(Xs, ys, Xq):
            return loop.adapt_and_predict(params, buffers, Xs, ys, Xq, self.inner_steps)

        out = None
        if self.vectorised:
            try:
                out = vmap(one_task)(support_X, support_y, query_X)
            except RuntimeError as exc:
                if "vmap" not in str(exc) and "NYI" not in str(exc):
                    raise
                self.vectorised = False  # no batching rule for a layer: task by task
        if out is None:
            out = torch.stack([one_task(*task) for task in zip(support_X, support_y, query_X)])
        return out.reshape(-1, out.shape[-1])

    def embed(self, x):
        return self.network.embed(x)
