"""Small, seeded configurations of every estimator, kept in one place.

The test suite and the compatibility checks use them so that each fit takes
a fraction of a second. Estimators not listed here run with their defaults.
"""

FAST_PARAMS = {
    "CNNClassifier": dict(channels=(8,), hidden_sizes=(16,), max_epochs=30, lr=1e-2,
                          batch_size=32, dropout=0.0),
    "CNNRegressor": dict(channels=(8,), hidden_sizes=(16,), max_epochs=30, lr=1e-2,
                         batch_size=32, dropout=0.0),
    "DeepEnsembleClassifier": dict(n_members=3, channels=(8,), hidden_sizes=(16,),
                                   max_epochs=30, lr=1e-2, batch_size=32, dropout=0.0),
    "RNNClassifier": dict(hidden_size=16, max_epochs=30, lr=1e-2, batch_size=32),
    # the recurrent regressor needs more steps for check_regressors_train
    "RNNRegressor": dict(hidden_size=16, max_epochs=40, lr=1e-2, batch_size=32),
    "MultiTaskClassifier": dict(trunk_params=dict(channels=(8,), hidden_sizes=(16,)),
                                max_epochs=30, lr=1e-2, batch_size=32),
    "MultiTaskRegressor": dict(trunk_params=dict(channels=(8,), hidden_sizes=(16,)),
                               max_epochs=30, lr=1e-2, batch_size=32),
    "MAMLRegressor": dict(network_params=dict(hidden_sizes=(16,)), n_meta_iter=40, k_shot=5,
                          n_query=5, meta_batch_size=4, meta_lr=1e-2),
    "MAMLClassifier": dict(network_params=dict(hidden_sizes=(16,)), n_meta_iter=40, k_shot=2,
                           n_query=2, meta_batch_size=4, meta_lr=1e-2),
}


def _fast_network_features():
    from ..neural_network import CNNClassifier

    return dict(estimator=CNNClassifier(**FAST_PARAMS["CNNClassifier"], random_state=0))


def _fast_hyperband():
    from ..neural_network import CNNClassifier

    cnn = CNNClassifier(**{**FAST_PARAMS["CNNClassifier"], "max_epochs": 16}, random_state=0)
    return dict(estimator=cnn, param_distributions={"lr": [2e-2, 3e-2]},
                min_resource=8, max_resource=16, eta=2, cv=2)


_FAST_META = {"NetworkFeatures": _fast_network_features, "HyperbandSearchCV": _fast_hyperband}


def fast_instance(cls, **overrides):
    """An instance of ``cls`` with its fast test parameters and ``random_state=0``."""
    meta = _FAST_META.get(cls.__name__)
    fast = meta() if meta else FAST_PARAMS.get(cls.__name__, {})
    params = {**fast, **overrides}
    est = cls(**params)
    if "random_state" in est.get_params(deep=False):
        est.set_params(random_state=params.get("random_state", 0))
    return est


# Sample-weight equivalence compares predictions at rtol=1e-7, as for
# MLPClassifier (which scikit-learn checks with solver='lbfgs'): exact only
# when both fits see the same full batch in float64 with plain SGD, no batch
# statistics and no dropout; Adam divides by tiny gradient moments, which
# turns 1e-16 round-off into visible differences. The deep ensemble draws a
# bootstrap sample per member, which by design is not the same as repeating
# samples, so the check runs it with bootstrap=False.
EQUIVALENCE_CHECK = "check_sample_weight_equivalence_on_dense_data"
_EQUIVALENCE_PARAMS = dict(batch_size="full", dtype="float64", optimizer="sgd", lr=0.05,
                           max_epochs=20)
_PLAIN_TRUNK = dict(trunk_params=dict(channels=(8,), hidden_sizes=(16,), batch_norm=False))
_EQUIVALENCE_ARCH = {"CNNClassifier": dict(batch_norm=False, dropout=0.0),
                     "CNNRegressor": dict(batch_norm=False, dropout=0.0),
                     "RNNClassifier": dict(dropout=0.0),
                     "RNNRegressor": dict(dropout=0.0),
                     "DeepEnsembleClassifier": dict(batch_norm=False, bootstrap=False,
                                                    dropout=0.0),
                     "MultiTaskClassifier": _PLAIN_TRUNK,
                     "MultiTaskRegressor": _PLAIN_TRUNK}


def check_configuration(estimator, check_name):
    """The estimator a compatibility check runs on: a dedicated clone where needed."""
    from sklearn.base import clone

    name = type(estimator).__name__
    if check_name == EQUIVALENCE_CHECK and "dtype" in estimator.get_params(deep=False):
        return clone(estimator).set_params(**_EQUIVALENCE_PARAMS,
                                           **_EQUIVALENCE_ARCH.get(name, {}))
    return estimator
