import re
import subprocess
import sys
import textwrap


def test_verbose_fits_in_worker_processes_print_tagged_whole_tables():
    script = textwrap.dedent("""
        from sklearn.ensemble import BaggingClassifier
        from sklearn_mlarch import CNNClassifier
        from sklearn_mlarch.datasets import load_digits_images
        X, y = load_digits_images(flat=True)
        cnn = CNNClassifier(input_shape=(1, 8, 8), channels=(4,), hidden_sizes=(),
                            max_epochs=3, verbose=1, random_state=0)
        BaggingClassifier(cnn, n_estimators=2, n_jobs=2, random_state=0).fit(X[:200], y[:200])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r"\[(\S+) pid (\d+)\] (.*)$", line)
        assert m, f"untagged line from a worker: {line!r}"
        rows.setdefault(m.group(2), []).append(m.group(3))
    # a worker may fit both estimators; either way every table is whole
    tables = [table[i:i + 5] for table in rows.values() for i in range(0, len(table), 5)]
    assert len(tables) == 2 and sum(map(len, rows.values())) == 10
    for table in tables:
        assert "epoch" in table[0] and "train_loss" in table[0]
        assert [r.split()[0] for r in table[2:]] == ["1", "2", "3"]
