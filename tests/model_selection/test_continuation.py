"""Continuation declared per estimator and resource, and the search's edge cases."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.ensemble import DeepEnsembleClassifier
from sklearn_mlarch.meta_learning import MAMLRegressor
from sklearn_mlarch.model_selection import HyperbandSearchCV, declared_continuation
from sklearn_mlarch.utils._testing import fast_instance

from .test_hyperband import EpochCounter, _data, two_metrics


@pytest.mark.parametrize("estimator, resource, mode", [
    (CNNClassifier(), "max_epochs", "resume"),
    (MAMLRegressor(), "n_meta_iter", "resume"),
    (make_pipeline(StandardScaler(), CNNClassifier()), "cnnclassifier__max_epochs", "resume"),
    (SGDClassifier(), "max_iter", "partial_fit"),
    (MLPClassifier(), "max_iter", "partial_fit"),
    (MLPClassifier(solver="lbfgs"), "max_iter", "refit"),  # no partial_fit
    (make_pipeline(StandardScaler(), SGDClassifier()), "sgdclassifier__max_iter", "refit"),
    (RandomForestClassifier(), "n_estimators", "grow"),
    (RandomForestClassifier(), "max_depth", "refit"),
    (DeepEnsembleClassifier(), "n_estimators", "refit"),
    (DeepEnsembleClassifier(CNNClassifier()), "estimator__max_epochs", "resume"),
    (CNNClassifier(), "n_samples", "refit"),
])
def test_declared_continuation(estimator, resource, mode):
    assert declared_continuation(estimator, resource) == mode


def test_explicit_continuation_that_cannot_work_errors():
    X, y = _data()
    with pytest.raises(ValueError, match="partial_fit"):
        HyperbandSearchCV(RandomForestClassifier(), {"max_depth": [2, 3]},
                          resource="n_estimators", max_resource=3,
                          continuation="partial_fit").fit(X, y)
    from sklearn.neighbors import KNeighborsClassifier

    with pytest.raises(ValueError, match="warm_start"):
        HyperbandSearchCV(KNeighborsClassifier(), {"weights": ["uniform"]},
                          resource="n_neighbors", max_resource=3,
                          continuation="resume").fit(X, y)


def _fold_score(search, estimator, X, y, k, scoring=None):
    from sklearn.model_selection import check_cv

    train, test = list(check_cv(search.cv, y, classifier=True).split(X, y))[k]
    estimator.fit(X[train], y[train])
    return estimator.score(X[test], y[test])


def test_package_estimator_resumes_exactly(digits):
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), channels=(4,), max_epochs=4)
    search = HyperbandSearchCV(cnn, {"lr": [1e-2, 2e-2, 3e-2, 5e-2]}, max_resource=4, eta=2,
                               cv=2, random_state=0).fit(X, y)
    res = search.cv_results_
    continued = np.flatnonzero(res["continuation"] == "resume")
    assert len(continued) and set(res["continuation"]) == {"new", "resume"}
    for row in continued[:2]:
        fresh = clone(cnn).set_params(**res["params"][row])
        for k in range(2):  # the continued model is the fresh one, bit for bit
            assert _fold_score(search, fresh, X, y, k) == res[f"split{k}_test_score"][row]


def test_meta_estimators_resume_through_their_wrapped_estimator(digits):
    # the resource is the wrapped CNN's max_epochs; warm_start is the CNN's too
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), channels=(4,), max_epochs=4)
    ens = DeepEnsembleClassifier(cnn, n_estimators=2, random_state=0)
    search = HyperbandSearchCV(ens, {"estimator__lr": [1e-2, 2e-2, 3e-2, 5e-2]},
                               resource="estimator__max_epochs", max_resource=4, eta=2, cv=2,
                               random_state=0).fit(X, y)
    res = search.cv_results_
    row = np.flatnonzero(res["continuation"] == "resume")[0]
    fresh = clone(ens).set_params(**res["params"][row])
    assert _fold_score(search, fresh, X, y, 0) == res["split0_test_score"][row]


def test_maml_warm_starts_through_its_wrapped_estimator():
    from sklearn_mlarch.model_selection._continuation import check_continuation, warm_start_key

    from sklearn_mlarch import FeedForwardRegressor

    maml = MAMLRegressor(FeedForwardRegressor())
    assert warm_start_key(maml, "n_meta_iter") == "estimator__warm_start"
    assert check_continuation(maml, "n_meta_iter", "resume") == "resume"


@pytest.mark.parametrize("estimator", [
    SGDClassifier(random_state=0),
    MLPClassifier(hidden_layer_sizes=(8,), random_state=0),
])
def test_sgd_and_mlp_continue_through_partial_fit(estimator, digits):
    # warm_start would restart SGD's step counter and Adam's moments; partial_fit
    # carries them, so a continued row equals r partial_fit calls from scratch
    X, y = digits
    search = HyperbandSearchCV(estimator, {"alpha": [1e-4, 1e-3, 1e-2, 1e-1]},
                               resource="max_iter", max_resource=4, eta=2, cv=2,
                               random_state=0).fit(X, y)
    res = search.cv_results_
    assert search.continuation_ == "partial_fit"
    row = np.flatnonzero(res["continuation"] == "partial_fit")[-1]
    params = dict(res["params"][row])
    calls = params.pop("max_iter")
    fresh = clone(estimator).set_params(**params)
    from sklearn.model_selection import check_cv

    train, test = list(check_cv(2, y, classifier=True).split(X, y))[0]
    for _ in range(calls):
        fresh.partial_fit(X[train], y[train], classes=np.unique(y))
    assert fresh.score(X[test], y[test]) == res["split0_test_score"][row]
    # the refit is trained the same way: max_resource partial_fit calls
    best = search.best_estimator_
    assert type(best) is type(estimator)
    again = clone(estimator).set_params(**{k: v for k, v in search.best_params_.items()
                                           if k != "max_iter"})
    for _ in range(4):
        again.partial_fit(X, y, classes=np.unique(y))
    assert np.array_equal(again.predict(X), best.predict(X))


def test_undeclared_resource_refits_every_rung(digits):
    X, y = digits
    search = HyperbandSearchCV(RandomForestClassifier(n_estimators=5, random_state=0),
                               {"min_samples_leaf": [1, 2, 4]}, resource="max_depth",
                               max_resource=9, cv=2, random_state=0).fit(X, y)
    res = search.cv_results_
    assert search.continuation_ == "refit" and set(res["continuation"]) == {"new"}
    assert (res["resource_spent"] == res["n_resources"]).all()


def test_repeated_integer_resources_merge_into_one_rung():
    X, y = _data()
    search = HyperbandSearchCV(EpochCounter(), {"quality": np.linspace(0, 0.5, 60)},
                               max_resource=3, eta=1.2, cv=2, random_state=0,
                               error_score="raise").fit(X, y)
    for resources in search.n_resources_:
        assert resources == sorted(set(resources))  # strictly increasing: no 0-epoch rung
    assert search.n_resources_[0] == [1, 2, 3]
    res = search.cv_results_
    assert np.array_equal(np.floor(res["mean_test_score"]), res["n_resources"])


def test_n_samples_cannot_exceed_the_smallest_training_fold():
    X, y = _data(60)
    with pytest.raises(ValueError, match="smallest training fold has 30"):
        HyperbandSearchCV(SGDClassifier(), {"alpha": [1e-3]}, resource="n_samples",
                          max_resource=50, cv=2).fit(X, y)


def test_callable_refit_sees_only_full_resource_rows():
    X, y = _data()
    seen = []

    def refit(results):
        seen.append(np.asarray(results["n_resources"]))
        return int(np.argmin(results["mean_test_score"]))  # the worst, on purpose

    search = HyperbandSearchCV(EpochCounter(), {"quality": np.linspace(0, 0.5, 20)},
                               max_resource=9, cv=2, refit=refit, random_state=0).fit(X, y)
    assert (seen[0] == 9).all()
    assert search.cv_results_["n_resources"][search.best_index_] == 9
    assert search.best_estimator_.epochs_ == 9


class _FailsAtOneEpoch(EpochCounter):
    def fit(self, X, y):
        if self.max_epochs == 1 and not self.warm_start:
            raise RuntimeError("one epoch is not enough")
        return super().fit(X, y)


def test_a_rung_where_every_fit_fails_with_callable_multimetric_scoring():
    X, y = _data()
    search = HyperbandSearchCV(_FailsAtOneEpoch(), {"quality": np.linspace(0, 0.5, 10)},
                               max_resource=9, cv=2, scoring=two_metrics, refit="epochs",
                               error_score=-1.0, random_state=0)
    with pytest.warns(FitFailedWarning, match="fits failed"):
        search.fit(X, y)
    res = search.cv_results_
    at_one = res["n_resources"] == 1
    assert (res["mean_test_epochs"][at_one] == -1).all()
    assert (res["mean_test_epochs"][~at_one] >= 3).all()
    assert search.best_estimator_.epochs_ == 9


def test_several_metrics_need_refit_to_name_the_promoting_one():
    X, y = _data()
    with pytest.raises(ValueError, match="refit='<metric name>'"):
        HyperbandSearchCV(EpochCounter(), {"quality": [0.1]}, max_resource=3,
                          scoring={"a": "accuracy", "b": "accuracy"}, refit=False).fit(X, y)


def test_n_resources_and_n_candidates_per_bracket():
    X, y = _data()
    search = HyperbandSearchCV(EpochCounter(), {"quality": np.linspace(0, 0.5, 30)},
                               max_resource=9, cv=2, random_state=0).fit(X, y)
    assert search.n_resources_ == [[1, 3, 9], [3, 9], [9]]
    assert search.n_candidates_ == [[9, 3, 1], [5, 1], [3]]


def test_failed_candidates_are_never_promoted():
    X, y = _data()
    search = HyperbandSearchCV(EpochCounter(), {"fail": [True, True, False],
                                                "quality": [0.1]},
                               max_resource=3, cv=2, random_state=0)
    with pytest.warns(FitFailedWarning):
        search.fit(X, y)
    res = search.cv_results_
    promoted = res["rung"] > 0
    assert not res["param_fail"][promoted].astype(bool).any()


def test_candidates_that_refuse_partial_fit_are_refitted():
    # the base MLP can partial_fit, a candidate with solver='lbfgs' cannot
    X, y = _data()
    search = HyperbandSearchCV(MLPClassifier(hidden_layer_sizes=(4,), random_state=0),
                               {"solver": ["adam", "lbfgs"], "alpha": [1e-4, 1e-3]},
                               resource="max_iter", max_resource=9, cv=2, random_state=0,
                               error_score="raise").fit(X, y)
    res = search.cv_results_
    lbfgs = res["param_solver"] == "lbfgs"
    assert set(res["continuation"][lbfgs]) == {"new"}
    assert "partial_fit" in set(res["continuation"][~lbfgs])
    # the refitted best says how long it trained: its clone trains the same budget
    assert search.best_estimator_.max_iter == search.best_params_["max_iter"] == 9


def test_multilabel_partial_fit_gets_every_label_column():
    from sklearn.datasets import make_multilabel_classification
    from sklearn.model_selection import KFold

    X, Y = make_multilabel_classification(n_samples=90, n_classes=3, random_state=0)
    search = HyperbandSearchCV(MLPClassifier(hidden_layer_sizes=(5,), random_state=0),
                               {"alpha": [1e-4, 1e-3]}, resource="max_iter", max_resource=3,
                               cv=KFold(3), random_state=0, error_score="raise").fit(X, Y)
    assert search.continuation_ == "partial_fit"
    assert search.best_estimator_.predict(X).shape == Y.shape
