"""Transfer learning: start a network from another model's weights.

The estimators' ``init_from`` parameter goes through the engine's one
initialisation hook: the network is first built and seeded as usual, then
:class:`LoadWeights` copies the source's trunk (``trunk.*``) into it, and
its head(s) when they fit (same shapes and, for classifiers, same classes);
otherwise the new head keeps its fresh initialisation.
"""

import fnmatch

import numpy as np
import torch


def source_state(init_from):
    """``(state_dict, classes)`` of a fitted estimator or a saved model's directory."""
    from .persistence import load_model

    if isinstance(init_from, (str, bytes)) or hasattr(init_from, "__fspath__"):
        init_from = load_model(init_from)
    net = getattr(init_from, "net_", None)
    if net is None:
        if hasattr(init_from, "_engine_config"):  # one of ours, not fitted
            why = (" (not fitted: call fit first; inside cross_val_score or a search, "
                   "cloning unfits it: give the folder of save_model(source, path), or "
                   "sklearn.frozen.FrozenEstimator(source), which cloning keeps fitted).")
        elif hasattr(init_from, "get_params"):
            why = (f": {type(init_from).__name__} is not a neural estimator of sklearn_mlarch, "
                   "so it has no network weights to start from.")
        else:
            why = "."
        raise ValueError(
            f"init_from must be a fitted estimator of sklearn_mlarch or the path of a model "
            f"saved with sklearn_mlarch.save_model, got {init_from!r}{why}")
    module = net.module_
    module = getattr(module, "network", module)  # a meta-learner's network, out of its inner loop
    state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    # the classes of each head (None for regression heads), from its target handler
    return state, init_from.targets_.head_classes()


def _head_of(name):
    """The head a parameter belongs to: ``heads.k`` of a multi-task network, else ``head``."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "heads" else parts[0]


def _head_index(head):
    return int(head.split(".")[1]) if head.startswith("heads.") else 0


_RUNNING_STATISTICS = (".running_mean", ".running_var", ".num_batches_tracked")

class LoadWeights:
    """Initialisation hook: copy a source network's trunk, and each head that fits.

    A head is copied when it has the same shapes and, for classifiers, the
    same classes as the source's head at the same position (per task for a
    multi-task network); the others keep their fresh initialisation. A
    freshly initialised head that ``frozen`` names is refused: it would
    stay random.

    Parameters
    ----------
    state : dict of str to tensor
        The source network's ``state_dict``.
    source_classes : list of ndarray or None
        The source's classes per head.
    target_classes : list of ndarray or None
        The classes of each head of the network being built.
    frozen : list of str, default=()
        The ``freeze`` patterns of the network being built.
    """

    def __init__(self, state, source_classes=None, target_classes=None, frozen=()):
        self.state = state
        self.source_classes = source_classes
        self.target_classes = target_classes
        self.frozen = list(frozen)

    def _same_classes(self, k):
        source = None if self.source_classes is None else (
            self.source_classes[k] if k < len(self.source_classes) else "absent")
        target = None if self.target_classes is None else (
            self.target_classes[k] if k < len(self.target_classes) else "absent")
        if source is None or target is None:
            return source is None and target is None
        if isinstance(source, str) or isinstance(target, str):
            return False
        return len(source) == len(target) and np.array_equal(source, target)

    def __call__(self, module):
        target = module.state_dict()
        trunk = {k: v for k, v in self.state.items() if k.startswith("trunk.")}
        # batch-norm statistics one side keeps and the other does not (MAML's
        # transductive batch norm has none): not weights, left as they are
        trunk = {k: v for k, v in trunk.items()
                 if k in target or not k.endswith(_RUNNING_STATISTICS)}
        target = {k: v for k, v in target.items()
                  if k in trunk or not k.endswith(_RUNNING_STATISTICS)}
        mismatched = [f"{k}: {tuple(v.shape)} there, "
                      f"{tuple(target[k].shape) if k in target else 'absent'} here"
                      for k, v in trunk.items() if k not in target or target[k].shape != v.shape]
        missing = [k for k in target if k.startswith("trunk.") and k not in trunk]
        if mismatched or missing:
            raise ValueError(
                "init_from's trunk does not fit this network ("
                + "; ".join(mismatched[:3] + [f"{k} absent there" for k in missing[:3]])
                + "). Build the same trunk: the same input_shape and architecture parameters.")
        copied = dict(trunk)
        fresh = []
        for head in sorted({_head_of(k) for k in target if not k.startswith("trunk.")}):
            names = [k for k in target if _head_of(k) == head]
            fits = all(k in self.state and self.state[k].shape == target[k].shape
                       for k in names) and self._same_classes(_head_index(head))
            if fits:
                copied.update({k: self.state[k] for k in names})
            else:
                fresh.append(head)
        frozen_fresh = [h for h in fresh if any(
            fnmatch.fnmatch(f"{h}.weight", p) or h == p or h.startswith(p + ".")
            or fnmatch.fnmatch(h, p) for p in self.frozen)]
        if frozen_fresh:
            raise ValueError(
                f"freeze={self.frozen} freezes {frozen_fresh}, which init_from cannot "
                "provide (other classes or shapes than the source's head): it would stay "
                "randomly initialised. Leave those heads out of freeze.")
        with torch.no_grad():
            for name, value in copied.items():
                target[name].copy_(value)
        return module
