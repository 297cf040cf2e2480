from sklearn_mlarch import CNNClassifier
from sklearn_mlarch.datasets import load_digits_images


def test_epoch_table_follows_verbose_at_run_time(capsys):
    X, y = load_digits_images(flat=True)
    cnn = CNNClassifier(input_shape=(1, 8, 8), channels=(4,), hidden_sizes=(), max_epochs=2,
                        verbose=1, random_state=0).fit(X[:100], y[:100])
    lines = capsys.readouterr().out.splitlines()
    assert "epoch" in lines[0] and "train_loss" in lines[0]
    assert [line.split()[0] for line in lines[2:]] == ["1", "2"]
    cnn.set_params(verbose=0, warm_start=True).fit(X[:100], y[:100])
    assert capsys.readouterr().out == ""
