"""Transfer learning: start a network from another model's weights.

The estimators' ``init_from`` parameter goes through the engine's one
initialisation hook: the network is first built and seeded as usual, then
:class:`LoadWeights` copies the source's trunk (``trunk.*``) into it, and
its head(s) when they fit (same shapes and, for classifiers, same classes);
otherwise the new head keeps its fresh initialisation.
"""

import numpy as np
import torch


def _classes_of(source):
    """Classes of a fitted classifier (a list for multi-task), or None."""
    try:
        classes = source.classes_
    except AttributeError:
        return None
    return classes if isinstance(classes, list) else [classes]


def source_state(init_from):
    """``(state_dict, classes)`` of a fitted estimator or a saved model's directory."""
    from .persistence import load_model

    if isinstance(init_from, (str, bytes)) or hasattr(init_from, "__fspath__"):
        init_from = load_model(init_from)
    net = getattr(init_from, "net_", None)
    if net is None:
        raise ValueError(
            f"init_from must be a fitted estimator of sklearn_mlarch or the path of a model "
            f"saved with sklearn_mlarch.save_model, got {init_from!r}"
            + (" (not fitted: call fit first)." if hasattr(init_from, "get_params") else "."))
    module = net.module_
    module = getattr(module, "network", module)  # a meta-learner's network, out of its inner loop
    state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    return state, _classes_of(init_from)


class LoadWeights:
    """Initialisation hook: copy a source network's trunk, and its heads when they fit.

    Parameters
    ----------
    state : dict of str to tensor
        The source network's ``state_dict``.
    source_classes : list of ndarray or None
        The source's classes per head, to keep a head only for the same classes.
    target_classes : list of ndarray or None
        The classes of the network being built.
    """

    def __init__(self, state, source_classes=None, target_classes=None):
        self.state = state
        self.source_classes = source_classes
        self.target_classes = target_classes

    def _same_classes(self):
        if self.source_classes is None or self.target_classes is None:
            return self.source_classes is None and self.target_classes is None
        return len(self.source_classes) == len(self.target_classes) and all(
            a is None and b is None or (a is not None and b is not None
                                       and len(a) == len(b) and np.array_equal(a, b))
            for a, b in zip(self.source_classes, self.target_classes))

    def __call__(self, module):
        target = module.state_dict()
        trunk = {k: v for k, v in self.state.items() if k.startswith("trunk.")}
        mismatched = [f"{k}: {tuple(v.shape)} there, "
                      f"{tuple(target[k].shape) if k in target else 'absent'} here"
                      for k, v in trunk.items() if k not in target or target[k].shape != v.shape]
        missing = [k for k in target if k.startswith("trunk.") and k not in trunk]
        if mismatched or missing:
            raise ValueError(
                "init_from's trunk does not fit this network ("
                + "; ".join(mismatched[:3] + [f"{k} absent there" for k in missing[:3]])
                + "). Build the same trunk: the same input_shape and architecture parameters.")
        heads = {k: v for k, v in self.state.items() if not k.startswith("trunk.")}
        if (self._same_classes() and set(heads) == {k for k in target if not k.startswith("trunk.")}
                and all(target[k].shape == v.shape for k, v in heads.items())):
            trunk.update(heads)  # same outputs: keep the source's head(s) too
        with torch.no_grad():
            for name, value in trunk.items():
                target[name].copy_(value)
        return module
