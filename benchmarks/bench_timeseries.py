"""Default CNN and RNN on real time series against 1-NN DTW.

Data: UCR/UEA archive data sets that sktime ships (offline), on their
official train/test splits. Each model is fitted with its defaults only:

- ``CNNClassifier(random_state=seed)`` on ``X`` as ``(n, C, L)``;
- ``RNNClassifier(random_state=seed)`` on the same ``(n, C, L)``, or, for
  variable-length data, on the list of ``(C, L_i)`` series;
- 1-NN with full-window dynamic time warping (squared Euclidean cost
  between time steps, the multivariate "dependent" DTW), computed here with
  numba. sktime's ``DtwDist`` refuses sequences of unequal length, so the
  few lines of DTW are written out and checked against a plain Python
  version on small inputs before use.

Variable-length data sets (JapaneseVowels, PLAID) reach the CNN in one of
four ways (``--variable-length``): ``list`` (the default: the list of
``(C, L_i)`` series as they are, which the CNN reads each at its own
length), ``list-z`` (the same, each series z-normalised per channel, as the
archive's equal-length series are), ``pad`` (zeros after the end, to the longest training series;
longer test series are cut), ``resample`` (linear interpolation to the
training series' median length rounded up to a multiple of 32, each series
z-normalised per channel as the UCR archive's equal-length series already
are); several give one CNN result each. Zero padding hurts PLAID's series
(100 to 1,344 steps): padded to 1,344 the global average pooling averages
mostly padding. The RNN and DTW see the series as they are.

``--device cuda`` trains the CNN and the RNN on a GPU. ``--data-cache DIR`` keeps each
split as a pickle in DIR after the first load, so a machine without sktime
can rerun the CNN and DTW from copies.

    python benchmarks/bench_timeseries.py                  # every data set, seed 0
    python benchmarks/bench_timeseries.py --seeds 0 1 2 --datasets ArrowHead
    python benchmarks/bench_timeseries.py --variable-length pad resample \\
        --dataset-seeds ArrowHead=0,1,2                    # the table of RESULTS.md

It prints one markdown table row per data set (the table of
benchmarks/RESULTS.md), with the published figures beside; several seeds
show as ``mean (seed, seed, ...)``. Progress goes to stderr.

Needs ``sktime`` and ``numba`` (``pip install sktime numba``).
"""

import argparse
import sys
import time
import warnings

import numpy as np

from sklearn_mlarch import CNNClassifier, RNNClassifier

DATASETS = ["ArrowHead", "OSULeaf", "ACSF1", "BasicMotions", "JapaneseVowels", "PLAID"]

# Published test accuracies (%) on the official splits: FCN and ResNet of Wang
# et al. (2017) as rerun by Ismail Fawaz et al. (2019, "Deep learning for time
# series classification: a review", DMKD; repository hfawaz/dl-4-tsc), and
# full-window 1-NN DTW. None where no figure was found; a string carries a note.
#   [F]   dl-4-tsc results/results-uea-avg-std.csv (UCR 2015 archive), mean of 10 runs
#   [F18] dl-4-tsc results/results-ucr-128.csv (UCR 2018 archive), mean of its 5 runs
#   [FM]  dl-4-tsc results/results-mts-avg-std.csv (Baydogan's MTS archive), mean of 10
#   [T]   tsml-eval results/classification/Multivariate (Ruiz et al. 2021), fold 0
#   [U]   UCR 2018 archive DataSummary.csv, "DTW (w=100)" error, as accuracy
PUBLISHED = {  # name: (FCN, ResNet, 1-NN DTW, sources)
    "ArrowHead": (84.3, 84.5, 70.3, "F, U"),
    "OSULeaf": (97.7, 97.9, 59.1, "F, U"),
    "ACSF1": (89.8, 91.6, 64.0, "F18, U"),
    "BasicMotions": (None, 100.0, "97.5 (DTW_D)", "T (ResNet; DTW_D)"),
    "JapaneseVowels": (99.3, 99.2, None, "FM"),
    "PLAID": (90.4, 94.0, 83.6, "F18, U"),
}


def load(name, split, cache=None):
    """``(sequences, y)``: a list of ``(T_i, C)`` arrays and the labels."""
    if cache is not None:
        import os
        import pickle

        path = os.path.join(cache, f"{name}_{split}.pkl")
        if not os.path.exists(path):
            data = load(name, split)  # loaded before the file exists: no empty cache
            os.makedirs(cache, exist_ok=True)
            with open(path, "wb") as f:
                pickle.dump(data, f)
        with open(path, "rb") as f:
            return pickle.load(f)
    from sktime.datasets import load_UCR_UEA_dataset

    X, y = load_UCR_UEA_dataset(name, split=split, return_type="nested_univ")
    seqs = [np.stack([np.asarray(X.iloc[i, c], dtype=float) for c in range(X.shape[1])],
                     axis=1) for i in range(len(X))]
    return seqs, np.asarray(y)


def as_signals(seqs, length=None, mode="resample"):
    """``(n, C, L)``: equal-length series as they are; others zero-padded or cut
    to ``length`` (``mode='pad'``), or resampled to it and z-normalised per
    series and channel; ``mode='list'``: the list of ``(C, L_i)`` series."""
    if mode == "list":
        return [s.T for s in seqs]
    if mode == "list-z":
        return [((s - s.mean(axis=0)) / (s.std(axis=0) + 1e-8)).T for s in seqs]
    if length is None:
        return np.stack([s.T for s in seqs])
    if mode == "pad":
        out = np.zeros((len(seqs), seqs[0].shape[1], length))
        for i, s in enumerate(seqs):
            t = min(len(s), length)
            out[i, :, :t] = s[:t].T
        return out
    out = np.empty((len(seqs), seqs[0].shape[1], length))
    grid = np.linspace(0.0, 1.0, length)
    for i, s in enumerate(seqs):
        steps = np.linspace(0.0, 1.0, len(s))
        for c in range(s.shape[1]):
            v = np.interp(grid, steps, s[:, c])
            out[i, c] = (v - v.mean()) / (v.std() + 1e-8)
    return out


def _dtw_python(a, b):
    cost = np.full((len(a) + 1, len(b) + 1), np.inf)
    cost[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d = float(((a[i - 1] - b[j - 1]) ** 2).sum())
            cost[i, j] = d + min(cost[i - 1, j], cost[i, j - 1], cost[i - 1, j - 1])
    return cost[-1, -1]


def _make_dtw():
    import numba

    @numba.njit(cache=False, fastmath=False)
    def dtw(a, b):
        n, m, c = a.shape[0], b.shape[0], a.shape[1]
        prev = np.full(m + 1, np.inf)
        prev[0] = 0.0
        for i in range(1, n + 1):
            cur = np.full(m + 1, np.inf)
            for j in range(1, m + 1):
                d = 0.0
                for k in range(c):
                    diff = a[i - 1, k] - b[j - 1, k]
                    d += diff * diff
                best = prev[j]
                if cur[j - 1] < best:
                    best = cur[j - 1]
                if prev[j - 1] < best:
                    best = prev[j - 1]
                cur[j] = d + best
            prev = cur
        return prev[m]

    @numba.njit(parallel=True, cache=False)
    def nearest(test, test_len, train, train_len):
        out = np.empty(len(test_len), dtype=np.int64)
        for i in numba.prange(len(test_len)):
            a = test[i, :test_len[i]]
            best, arg = np.inf, -1
            for j in range(len(train_len)):
                d = dtw(a, train[j, :train_len[j]])
                if d < best:
                    best, arg = d, j
            out[i] = arg
        return out

    return dtw, nearest


def _packed(seqs):
    lengths = np.array([len(s) for s in seqs])
    out = np.zeros((len(seqs), lengths.max(), seqs[0].shape[1]))
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out, lengths


def one_nn_dtw(train, y_train, test):
    dtw, nearest = _make_dtw()
    rng = np.random.default_rng(0)
    for _ in range(3):  # the compiled DTW against the plain one
        a, b = rng.normal(size=(rng.integers(3, 9), 2)), rng.normal(size=(rng.integers(3, 9), 2))
        assert np.isclose(dtw(a, b), _dtw_python(a, b)), "numba DTW disagrees"
    idx = nearest(*_packed(test), *_packed(train))
    return y_train[idx]


def _cnn_length(train, equal, mode):
    """The one length the CNN sees: None for equal-length data sets."""
    if equal or mode in ("list", "list-z"):
        return None
    if mode == "pad":
        return max(len(s) for s in train)
    return int(32 * np.ceil(np.median([len(s) for s in train]) / 32))


# InceptionTime (Ismail Fawaz et al. 2020), the ensemble of 5 Inception networks,
# test accuracy (%) on the official splits, from the authors' repository
# hfawaz/InceptionTime:
#   [IT128] results-InceptionTime-128.csv (UCR 2018 archive, the splits sktime ships)
#   [ITM]   results-mts.csv (UEA multivariate archive; added in commit 0d623a3,
#           removed from the repository's head later)
# (results-InceptionTime-85.csv, the UCR 2015 archive, has ArrowHead 82.9, OSULeaf 93.4.)
INCEPTIONTIME = {"ArrowHead": (84.6, "IT128"), "OSULeaf": (94.2, "IT128"),
                 "ACSF1": (92.0, "IT128"), "PLAID": (94.4, "IT128"),
                 "BasicMotions": (100.0, "ITM"), "JapaneseVowels": (99.2, "ITM")}
# One Inception network (not the ensemble), mean of the 5 runs of
#   [I128] results-inception-128.csv of the same repository (UCR 2018 archive)
INCEPTION = {"ArrowHead": (84.7, "I128"), "OSULeaf": (92.5, "I128"),
             "ACSF1": (89.6, "I128"), "PLAID": (93.7, "I128")}


def _cell(value):
    if isinstance(value, str):
        return value
    return "not found" if value is None else f"{value:.1f}"


def minirocket(train, y_train, test, seed, regression=False):
    """sktime's MiniRocket (the variable-length version for unequal lengths) then
    RidgeClassifierCV / RidgeCV over alphas 10^-3..10^3, features scaled, as
    sktime's MiniRocketClassifier does."""
    import pandas as pd
    from sklearn.linear_model import RidgeClassifierCV, RidgeCV
    from sklearn.preprocessing import StandardScaler
    from sktime.transformations.panel.rocket import (MiniRocketMultivariate,
                                                     MiniRocketMultivariateVariable)

    equal = len({len(s) for s in train + test}) == 1
    if equal:
        transform = MiniRocketMultivariate(random_state=seed)
        Xtr, Xte = as_signals(train), as_signals(test)
    else:
        transform = MiniRocketMultivariateVariable(random_state=seed,
                                                   pad_value_short_series=0)

        def nested(seqs):
            return pd.DataFrame({f"c{c}": [pd.Series(s[:, c]) for s in seqs]
                                 for c in range(seqs[0].shape[1])})

        Xtr, Xte = nested(train), nested(test)
    head = (RidgeCV if regression else RidgeClassifierCV)(alphas=np.logspace(-3, 3, 10))
    scaler = StandardScaler(with_mean=False)
    # by hand: scikit-learn's Pipeline (1.9) and sktime's transformers disagree on callbacks
    features = scaler.fit_transform(transform.fit_transform(Xtr))
    head.fit(features, y_train)
    return head.predict(scaler.transform(transform.transform(Xte)))


def neural(model, X_train, y_train, X_test, seed, device, regression=False):
    """The package's estimators with their defaults (and the architecture named)."""
    from sklearn_mlarch import CNNRegressor, DeepEnsembleClassifier, DeepEnsembleRegressor

    cnn = CNNRegressor if regression else CNNClassifier
    ensemble = DeepEnsembleRegressor if regression else DeepEnsembleClassifier
    est = {
        "cnn": lambda: cnn(random_state=seed, device=device),
        "cnn-series": lambda: cnn(normalize="series", random_state=seed, device=device),
        "cnn-series+scale": lambda: cnn(normalize="series+scale", random_state=seed,
                                        device=device),
        "resnet": lambda: cnn(architecture="resnet", random_state=seed, device=device),
        "inception": lambda: cnn(architecture="inception", random_state=seed, device=device),
        # the paper's ensemble: every network on the whole training set
        "inceptiontime": lambda: ensemble(cnn(architecture="inception", device=device),
                                          n_estimators=5, bootstrap=False, random_state=seed),
        "rnn": lambda: RNNClassifier(random_state=seed, device=device),
    }[model]()
    return est.fit(X_train, y_train).predict(X_test)


MODEL_NAMES = {"cnn": "CNN defaults", "resnet": "CNN architecture='resnet'",
               "cnn-series": "CNN normalize='series'",
               "cnn-series+scale": "CNN normalize='series+scale'",
               "inception": "CNN architecture='inception'",
               "inceptiontime": "DeepEnsemble of 5 inception CNNs, bootstrap=False "
                                "(InceptionTime)",
               "rnn": "RNN defaults", "dtw": "1-NN DTW", "minirocket": "MiniRocket + ridge"}
TSER = ["Tecator", "Covid3Month"]


def load_tser(name, split):
    """``(sequences, y)`` of sktime's offline TSER sets, as :func:`load` gives."""
    from sktime.datasets import load_covid_3month, load_tecator

    loader = {"Tecator": load_tecator, "Covid3Month": load_covid_3month}[name]
    X, y = loader(split=split, return_X_y=True)
    seqs = [np.stack([np.asarray(X.iloc[i, c], dtype=float) for c in range(X.shape[1])],
                     axis=1) for i in range(len(X))]
    return seqs, np.asarray(y, dtype=float)


def run_one(model, name, train, y_train, test, mode, seed, args, regression):
    equal = len({len(s) for s in train + test}) == 1
    if model == "minirocket":
        return minirocket(train, y_train, test, seed, regression)
    if model == "dtw":
        return one_nn_dtw(train, y_train, test)
    if model == "rnn":
        return neural(model, as_signals(train, None, "list"), y_train,
                      as_signals(test, None, "list"), seed, args.device)
    length = _cnn_length(train, equal, mode)
    return neural(model, as_signals(train, length, mode), y_train,
                  as_signals(test, length, mode), seed, args.device, regression)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS,
                        help=f"UCR/UEA names, or the TSER sets {TSER} (regression, RMSE)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--dataset-seeds", nargs="+", default=[], metavar="NAME=S,S,...",
                        help="other seeds for these data sets, e.g. ArrowHead=0,1,2")
    parser.add_argument("--models", nargs="+", default=["cnn", "rnn", "dtw"],
                        choices=sorted(MODEL_NAMES))
    parser.add_argument("--variable-length", nargs="+",
                        choices=["list", "list-z", "pad", "resample"],
                        default=["list"],
                        help="how variable-length series reach the CNN (several: one CNN "
                             "result each)")
    parser.add_argument("--device", default="cpu",
                        help="where the CNN and the RNN train (cpu, cuda)")
    parser.add_argument("--data-cache", metavar="DIR",
                        help="keep the loaded splits as pickles in DIR")
    parser.add_argument("--rnn-max-length", type=int, default=300,
                        help="skip the RNN on series longer than this (a bidirectional GRU "
                             "runs step by step: 235 s for ArrowHead's 251 steps here)")
    args = parser.parse_args()
    dataset_seeds = {name: [int(v) for v in seeds.split(",")]
                     for name, seeds in (item.split("=") for item in args.dataset_seeds)}
    import torch

    # stdout is the markdown table of RESULTS.md (python -m sklearn_mlarch bench)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"seeds {args.seeds}, {dataset_seeds}", file=sys.stderr)
    print("| data set | train | model | test score, mean (per seed) | fit + predict (s), mean "
          "| time / MiniRocket's | published (source) |")
    print("|---" * 7 + "|")
    for name in args.datasets:
        regression = name in TSER
        loader = load_tser if regression else (lambda n, s: load(n, s, args.data_cache))
        train, y_train = loader(name, "train")
        test, y_test = loader(name, "test")
        lengths = {len(s) for s in train}
        shape = (f"{len(train)} x {train[0].shape[1]} x "
                 + (str(lengths.pop()) if len(lengths) == 1
                    else f"{min(lengths)}..{max(lengths)}"))
        equal = len({len(s) for s in train + test}) == 1
        longest = max(len(s) for s in train)
        rocket_time = None
        # MiniRocket first: the other rows state their time as a ratio to it
        for model in sorted(args.models, key=lambda m: m != "minirocket"):
            if model == "rnn" and (longest > args.rnn_max_length or regression):
                continue
            if model == "dtw" and regression:
                continue
            modes = (args.variable_length if model not in ("rnn", "dtw", "minirocket")
                     and not equal else [None])
            for mode in modes:
                scores, seconds = [], []
                seeds = dataset_seeds.get(name, args.seeds) if model != "dtw" else [0]
                for seed in seeds:
                    start = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", UserWarning)
                        pred = run_one(model, name, train, y_train, test, mode, seed, args,
                                       regression)
                    seconds.append(time.perf_counter() - start)
                    scores.append(float(np.sqrt(np.mean((pred - y_test) ** 2))) if regression
                                  else 100 * float(np.mean(pred == y_test)))
                    print(f"{name} {model} {mode or ''} seed {seed}: {scores[-1]:.4g}, "
                          f"{seconds[-1]:.0f} s", file=sys.stderr, flush=True)
                if model == "minirocket":
                    rocket_time = np.mean(seconds)
                fmt = "{:.3f}" if regression else "{:.1f}"
                per_seed = (" (" + ", ".join(fmt.format(v) for v in scores) + ")"
                            if len(scores) > 1 else "")
                suffix = {None: "", "list": ", as a list", "list-z": ", z-normalised list",
                          "pad": ", padded", "resample": ", resampled"}[mode]
                ratio = (f"{np.mean(seconds) / rocket_time:,.1f}" if rocket_time else "n/a")
                print(f"| {name} | {shape} | {MODEL_NAMES[model]}{suffix} | "
                      f"{fmt.format(np.mean(scores))}{' RMSE' if regression else ''}"
                      f"{per_seed} | {np.mean(seconds):,.1f} | {ratio} | "
                      f"{published(name, model)} |", flush=True)


def published(name, model):
    if name in TSER:
        return "not quoted (Tan et al. 2021's table is online only)"
    fcn, resnet, dtw, sources = PUBLISHED[name]
    if model in ("cnn", "cnn-series", "cnn-series+scale"):
        return f"FCN {_cell(fcn)} ({sources})"
    if model == "inception":
        value, source = INCEPTION.get(name, (None, "I128"))
        return f"one Inception network {_cell(value)} ({source})"
    if model == "inceptiontime":
        value, source = INCEPTIONTIME.get(name, (None, "IT128"))
        return f"InceptionTime {_cell(value)} ({source})"
    value = {"resnet": resnet, "dtw": dtw}.get(model)
    return "" if value is None else f"{_cell(value)} ({sources})"


if __name__ == "__main__":
    main()
