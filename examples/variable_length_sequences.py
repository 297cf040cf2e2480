"""An RNN on sequences of different lengths, packed so padding changes nothing.

Run: python examples/variable_length_sequences.py [--quick]
"""

import sys

from sklearn.model_selection import train_test_split

from sklearn_mlarch import RNNClassifier
from sklearn_mlarch.datasets import make_sequence_classification

quick = "--quick" in sys.argv
X, y = make_sequence_classification(600, n_timesteps=30, variable_length=True,
                                    random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
clf = RNNClassifier(cell="gru", hidden_size=32, max_epochs=3 if quick else 40, random_state=0)
clf.fit(X_train, y_train)
print(f"sequence lengths {min(map(len, X))}..{max(map(len, X))}, "
      f"test accuracy {clf.score(X_test, y_test):.3f}")
