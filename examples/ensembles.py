"""Bagging, boosting and a vectorised deep ensemble of CNNs on digits.

Run: python examples/ensembles.py [--quick]
"""

import sys

from sklearn.ensemble import AdaBoostClassifier, BaggingClassifier
from sklearn.model_selection import train_test_split

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images
from sklearn_mlarch.ensemble import DeepEnsembleClassifier

quick = "--quick" in sys.argv
X, y = load_digits_images(flat=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
small = dict(input_shape=(1, 8, 8), channels=(8, 16), hidden_sizes=(32,), dropout=0.0,
             max_epochs=2 if quick else 10, random_state=0)
models = {
    "one CNN": CNNClassifier(**small),
    "BaggingClassifier(5 CNNs, n_jobs=2)": BaggingClassifier(CNNClassifier(**small),
                                                             n_estimators=5, n_jobs=2),
    "AdaBoostClassifier(5 CNNs)": AdaBoostClassifier(CNNClassifier(**small), n_estimators=5),
    "DeepEnsembleClassifier(n_members=5)": DeepEnsembleClassifier(**small, n_members=5),
}
for name, model in models.items():
    model.fit(X_train, y_train)
    print(f"{name:<40} test accuracy {model.score(X_test, y_test):.3f}")
