import subprocess
import sys


def test_demo_quick_prints_all_models():
    out = subprocess.run([sys.executable, "-m", "sklearn_mlarch", "demo", "--quick"],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    for name in ("CNNClassifier", "RNNClassifier", "SVC", "MLPClassifier",
                 "BaggingClassifier", "DeepEnsembleClassifier", "HyperbandSearchCV",
                 "MultiTaskClassifier", "Transfer", "Meta-learning", "FOMAML"):
        assert name in out
    for line in out.splitlines():
        if line.startswith(("MAML ", "FOMAML ")):  # name, then mean ± interval per step count
            values = [float(v) for v in line.split()[1:] if v != "±"]
            no_step, ten_steps = values[0], values[4]
            assert ten_steps < no_step  # adapting to a new task lowers its error
    assert "demo finished" in out
