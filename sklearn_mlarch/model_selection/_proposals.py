"""Where HyperbandSearchCV's candidates come from: random sampling or an Optuna sampler."""

from numbers import Integral

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler


class RandomProposals:
    """Candidates drawn as by RandomizedSearchCV (lists uniformly, distributions by rvs).

    ``most`` is how many candidates one proposal can hold: the grid's size
    when every parameter is a list (a proposal never repeats a point), else
    None (no limit).
    """

    def __init__(self, param_distributions, random_state):
        self.param_distributions = param_distributions
        self.random_state = random_state
        self.most = None
        try:  # as ParameterSampler decides; malformed distributions fail there, clearly
            grids = (param_distributions if isinstance(param_distributions, list)
                     else [param_distributions])
            if all(not hasattr(v, "rvs") for g in grids for v in g.values()):
                self.most = len(ParameterGrid(param_distributions))
        except (AttributeError, TypeError, ValueError):
            pass

    def propose(self, n):
        return list(ParameterSampler(self.param_distributions, n,
                                     random_state=self.random_state))

    def report(self, index, score):
        """Random sampling learns nothing from scores."""

    def report_at(self, position, score):
        """Random sampling learns nothing from scores."""


def _optuna_distribution(name, values):
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    if isinstance(values, (list, tuple, np.ndarray)):
        # Optuna's choices must be plain scalars; tuples such as channels=(16, 32)
        # are not, so the sampler picks an index into the list
        return CategoricalDistribution(list(range(len(values))))
    dist = getattr(values, "dist", None)
    if dist is None or not hasattr(values, "support"):
        raise ValueError(f"param_distributions[{name!r}] must be a list or a scipy.stats "
                         f"distribution to be used with an Optuna sampler, got {values!r}.")
    low, high = values.support()
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"param_distributions[{name!r}] has unbounded support; an Optuna "
                         "sampler needs bounded ranges (uniform, loguniform, randint).")
    if hasattr(dist, "pmf"):
        return IntDistribution(int(low), int(high))
    return FloatDistribution(float(low), float(high),
                             log=dist.name in ("loguniform", "reciprocal"))


class OptunaProposals:
    """Candidates proposed by an Optuna sampler (e.g. TPE), told their scores.

    Each candidate is an Optuna trial, told the mean cross-validated score of
    the last rung it reached, so later brackets sample from what earlier ones
    learnt: Hyperband's budget allocation with model-based proposals, in the
    spirit of BOHB (Falkner et al., ICML 2018).
    """

    most = None  # proposes as many candidates as asked

    def __init__(self, param_distributions, sampler):
        import optuna

        if not isinstance(param_distributions, dict):
            raise ValueError("With an Optuna sampler, param_distributions must be one dict.")
        self.param_distributions = param_distributions
        self.distributions = {k: _optuna_distribution(k, v)
                              for k, v in param_distributions.items()}
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self.trials = []
        self._told = set()

    def _decode(self, trial):
        params = {}
        for name, value in trial.params.items():
            choices = self.param_distributions[name]
            if isinstance(choices, (list, tuple, np.ndarray)):
                value = choices[value]
            elif isinstance(value, Integral):
                value = int(value)
            params[name] = value
        return params

    def propose(self, n):
        start = len(self.trials)
        self.trials += [self.study.ask(self.distributions) for _ in range(n)]
        self.offset = start
        return [self._decode(t) for t in self.trials[start:]]

    def report(self, index, score):
        """Tell the sampler the final score of candidate ``index`` of the last proposal.

        A NaN score (a failed fit with ``error_score=np.nan``) is told as a failed
        trial, which Optuna's samplers leave out; a numeric ``error_score`` such
        as 0 is told as it is, so the sampler learns to avoid failing regions.
        """
        self.report_at(self.offset + index, score)

    def report_at(self, position, score):
        """Tell the score of the ``position``-th candidate proposed so far."""
        from optuna.trial import TrialState

        trial = self.trials[position]
        if trial.number in self._told:
            return
        self._told.add(trial.number)
        if np.isfinite(score):
            self.study.tell(trial, float(score))
        else:
            self.study.tell(trial, state=TrialState.FAIL)
