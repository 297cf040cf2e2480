"""A fitted estimator's network at a glance: blocks, output shapes, parameters.

:func:`model_summary` is what the estimators' ``summary()`` returns, as
Keras' ``model.summary()`` shows a model: one row per block of the network
(``trunk.conv0``, ``head``: the names ``freeze`` takes), its output shape on
a dummy batch of the fitted sample shape, its parameter count, how many of
those train and whether it is frozen.
"""

import html
import inspect
from dataclasses import dataclass
from numbers import Integral

import torch
from torch import nn
from sklearn.utils.validation import check_is_fitted

_HEADER = ("Block", "Type", "Output shape", "Params", "Trainable", "Frozen")


@dataclass(frozen=True)
class SummaryRow:
    """One block of the network: its name, type, output shape and parameters."""

    name: str
    type: str
    output_shape: str
    n_params: int
    n_trainable: int

    @property
    def frozen(self):
        """``'yes'``, ``'partly'`` or ``''`` (no frozen parameter, or none at all)."""
        if self.n_trainable == self.n_params:
            return ""
        return "yes" if self.n_trainable == 0 else "partly"


class ModelSummary:
    """Summary of a fitted estimator's network, as :meth:`summary` returns it.

    ``str()`` is a plain-text table, ``_repr_html_()`` an HTML table (which
    notebooks show).

    Parameters
    ----------
    title : str
        The first line: the estimator and its network.
    input_shape : tuple of int
        Shape of one sample, as the network reads it.
    rows : list of SummaryRow
        The blocks of the network, each with its ``name``, ``type``,
        ``output_shape``, ``n_params``, ``n_trainable`` and ``frozen``
        (``'yes'``, ``'partly'`` or ``''``).
    total_params : int
        Parameters of the whole network.
    trainable_params : int
        Of those, the parameters that train (not frozen).
    output_shape : str
        The network's output shape; ``N`` is the batch size.

    Attributes
    ----------
    frozen_params : int
        Parameters that do not train: ``total_params - trainable_params``.
    """

    def __init__(self, title, input_shape, rows, total_params, trainable_params, output_shape):
        self.title = title
        self.input_shape = tuple(input_shape)
        self.rows = list(rows)
        self.total_params = int(total_params)
        self.trainable_params = int(trainable_params)
        self.output_shape = output_shape

    @property
    def frozen_params(self):
        """Parameters that do not train."""
        return self.total_params - self.trainable_params

    def _cells(self):
        return [(r.name, r.type, r.output_shape, f"{r.n_params:,}", f"{r.n_trainable:,}",
                 r.frozen) for r in self.rows]

    def _totals(self):
        return [("Total params", self.total_params),
                ("Trainable params", self.trainable_params),
                ("Frozen params", self.frozen_params)]

    def __str__(self):
        cells = [_HEADER] + self._cells()
        widths = [max(len(row[i]) for row in cells) for i in range(len(_HEADER))]
        right = {3, 4}  # counts, right-aligned

        def line(row):
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip()

        rule = "=" * len(line(_HEADER))
        lines = [self.title, f"Input shape: {_shape(self.input_shape)}, output shape: "
                 f"{self.output_shape} (N: the batch size)", rule, line(_HEADER),
                 "-" * len(rule)]
        lines += [line(row) for row in cells[1:]] + [rule]
        lines += [f"{name}: {value:,}" for name, value in self._totals()]
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        esc = html.escape
        head = "".join(f"<th style='text-align:{'right' if i in (3, 4) else 'left'}'>{esc(h)}"
                       "</th>" for i, h in enumerate(_HEADER))
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:{'right' if i in (3, 4) else 'left'}'>"
                             f"{esc(c)}</td>" for i, c in enumerate(row)) + "</tr>"
            for row in self._cells())
        totals = "<br>".join(f"{esc(name)}: {value:,}" for name, value in self._totals())
        return (f"<div class='sklearn-mlarch-summary'><p><b>{esc(self.title)}</b><br>"
                f"Input shape: {esc(_shape(self.input_shape))}, output shape: "
                f"{esc(self.output_shape)} (N: the batch size)</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p>{totals}</p></div>")


def _shape(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _blocks(module, depth, prefix=""):
    """``(name, module)`` of the rows: a module nested less than ``depth`` deep is
    replaced by its children, and by ``(name, None)`` for each parameter it holds
    itself."""
    children = list(module.named_children())
    if not children or prefix.count(".") >= depth:
        return [(prefix.rstrip(".") or "(network)", module)]
    rows = [(prefix + name, None) for name, _ in module.named_parameters(recurse=False)]
    for name, child in children:
        rows += _blocks(child, depth, f"{prefix}{name}.")
    return rows


def _forward_network(module):
    """The plain network inside a meta-learner's module (MAML, prototypes), whose
    forward reads support and query sets; else the module itself."""
    network = getattr(module, "network", None)
    required = [p for p in inspect.signature(module.forward).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                       p.POSITIONAL_OR_KEYWORD)]
    return network if isinstance(network, nn.Module) and len(required) > 1 else module


def _layout(network):
    """The module whose forward runs the blocks: the template of one member for a
    vectorised ensemble (:class:`~sklearn_mlarch.networks.StackedEnsemble`), which
    holds the stacked weights in empty modules; else the network itself."""
    template = getattr(network, "_template", None)
    return template[0] if isinstance(template, list) and template else network


def _submodule(layout, name, default):
    try:
        return layout.get_submodule(name)
    except AttributeError:
        return default


def _shapes(output):
    """The tensors' shapes in ``output`` (a tensor, or a tuple, list or dict of them)."""
    if isinstance(output, torch.Tensor):
        return [tuple(output.shape)]
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (tuple, list)):
        return [s for item in output for s in _shapes(item)]
    return []


def _format_shapes(small, large):
    """Shapes of batches of 2 and 3: the axes that differ are the batch axis, ``N``."""
    if not small:
        return "-"
    if len(small) != len(large) or any(len(a) != len(b) for a, b in zip(small, large)):
        large = small
    return ", ".join(_shape(["N" if x != y else x for x, y in zip(a, b)])
                     for a, b in zip(small, large))


def _run(network, modules, input_shape, batch, like):
    """Output shapes of ``modules`` (by name) and of ``network`` on a dummy batch."""
    seen = {}

    def hook(name):
        def record(module, args, output):
            seen[name] = _shapes(output)
        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in modules]
    generator = torch.Generator().manual_seed(0)  # torch's global random state untouched
    x = torch.randn(batch, *input_shape, generator=generator, dtype=like.dtype)
    try:
        out = network(x.to(like.device))
    finally:
        for handle in handles:
            handle.remove()
    return seen, _shapes(out)


def _permanently_frozen(net, module):
    """Ids of the parameters ``freeze`` keeps frozen for good (``unfreeze_after=None``),
    frozen or not now: a loaded model is built with every parameter trainable."""
    freezer = dict(getattr(net, "callbacks_", None) or []).get("freeze")
    return set() if freezer is None else {id(p) for p in freezer.frozen_for_good(module)}


def model_summary(estimator, depth: int = 2) -> ModelSummary:
    """Summary of a fitted estimator's network: see the estimators' ``summary()``.

    Parameters
    ----------
    estimator : fitted estimator of sklearn_mlarch
        Has ``net_`` (the trained engine) and ``input_shape_``.
    depth : int, default=2
        Nesting depth of the blocks listed (``trunk.conv0`` is at depth 2).

    Returns
    -------
    summary : ModelSummary
        The table of blocks and the parameter counts.
    """
    check_is_fitted(estimator)
    if not isinstance(depth, Integral) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a positive int, got {depth!r}. Pass e.g. depth=2 "
                         "to list blocks such as 'trunk.conv0'.")
    module = estimator.net_.module_
    network = _forward_network(module)
    input_shape = tuple(int(s) for s in estimator.input_shape_)
    blocks = _blocks(network, depth)
    layout = _layout(network)
    # the modules that run: a vectorised ensemble's holders of stacked
    # weights never do, its template (of one member, under vmap) does
    modules = [(name, _submodule(layout, name, m)) for name, m in blocks if m is not None]
    params = list(module.parameters())
    like = params[0] if params else torch.empty(0, dtype=estimator.net_.dtype)
    frozen_ids = _permanently_frozen(estimator.net_, module)

    def trains(p):
        return p.requires_grad and id(p) not in frozen_ids

    modes = [(m, m.training) for m in module.modules()]
    try:
        module.eval()  # no dropout, batch norm from its running statistics
        with torch.no_grad():
            small, out_small = _run(network, modules, input_shape, 2, like)
            large, out_large = _run(network, modules, input_shape, 3, like)
    except Exception as exc:
        raise RuntimeError(
            f"summary() could not run a dummy batch of shape {_shape((2,) + input_shape)} "
            f"(the fitted sample shape) through {type(network).__name__}: {exc}. Inspect "
            "the torch module estimator.net_.module_ directly instead.") from exc
    finally:
        for m, training in modes:
            m.training = training
    rows = []
    for name, m in blocks:
        if m is None:  # a parameter the module holds itself
            p = dict(network.named_parameters())[name]
            rows.append(SummaryRow(name, "Parameter", _shape(tuple(p.shape)), p.numel(),
                                   p.numel() if trains(p) else 0))
            continue
        block_params = list(m.parameters())
        rows.append(SummaryRow(
            name, type(_submodule(layout, name, m)).__name__,
            _format_shapes(small.get(name), large.get(name)),
            sum(p.numel() for p in block_params),
            sum(p.numel() for p in block_params if trains(p))))
    inner = {id(p) for p in network.parameters()}
    outer = [p for p in params if id(p) not in inner]  # a meta-learner's own
    if outer:
        rows.append(SummaryRow(f"({type(module).__name__})", "Parameter", "-",
                               sum(p.numel() for p in outer),
                               sum(p.numel() for p in outer if trains(p))))
    title = f"{type(estimator).__name__}: {type(module).__name__}" + (
        f" of {type(network).__name__}" if network is not module else "")
    return ModelSummary(title, input_shape, rows, sum(p.numel() for p in params),
                        sum(p.numel() for p in params if trains(p)),
                        _format_shapes(out_small, out_large))
