import subprocess
import sys


def test_demo_quick_prints_all_models():
    out = subprocess.run([sys.executable, "-m", "sklearn_mlarch", "demo", "--quick"],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    for name in ("CNNClassifier", "RNNClassifier", "SVC", "MLPClassifier",
                 "BaggingClassifier", "DeepEnsembleClassifier", "HyperbandSearchCV",
                 "MultiTaskClassifier", "Transfer"):
        assert name in out
    assert "demo finished" in out
