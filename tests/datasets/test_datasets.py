import numpy as np

from sklearn_mlarch.datasets import load_digits_images, make_sequence_classification


def test_digits_images():
    X, y = load_digits_images()
    assert X.shape == (1797, 1, 8, 8) and X.min() == 0 and X.max() == 1
    assert load_digits_images(flat=True)[0].shape == (1797, 64)


def test_sequences_are_seeded_and_variable_length():
    a, ya = make_sequence_classification(20, random_state=0, variable_length=True)
    b, yb = make_sequence_classification(20, random_state=0, variable_length=True)
    assert all(np.array_equal(s, t) for s, t in zip(a, b)) and np.array_equal(ya, yb)
    assert len({len(s) for s in a}) > 1 and min(len(s) for s in a) >= 10
