"""A CNN on flat digits rows inside a scikit-learn Pipeline and grid search.

Run: python examples/cnn_in_a_pipeline.py [--quick]
"""

import sys

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mlarch import CNNClassifier

quick = "--quick" in sys.argv
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

pipe = make_pipeline(StandardScaler(),
                     CNNClassifier(input_shape=(1, 8, 8), max_epochs=3 if quick else 20,
                                   random_state=0))
grid = GridSearchCV(pipe, {"cnnclassifier__channels": [(16,), (32, 64)]}, cv=3)
grid.fit(X_train, y_train)
print("best parameters:", grid.best_params_)
print(f"test accuracy: {grid.score(X_test, y_test):.3f}")
