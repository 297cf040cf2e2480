"""GPU overhead: CNNClassifier fit and predict against a hand-written loop, data on the GPU.

Both train the same CNNNetwork (the estimator's default architecture) on
20,000 random 1x28x28 images with 10 classes, Adam, 3 epochs (``--epochs``),
at batch sizes 64, 256 and 1024, timed side by side in one process,
alternating, ``--repeats`` times. The hand-written loop keeps the data on the GPU,
shuffles with ``randperm`` on the device and accumulates the loss there (no
host synchronisation per batch): the fastest loop a PyTorch user writes.
Predict: the loop moves the numpy images to the GPU and runs
``model.eval()`` over chunks of 4,096 under ``no_grad``; the estimator's
``predict_proba`` starts from the same numpy array (it validates it too).

    python benchmarks/bench_gpu.py --epochs 3 10 --repeats 5   # needs CUDA
    python benchmarks/bench_gpu.py --device cpu --n 2000 --repeats 1   # a smoke run

Targets (issue 8): fit <= 1.05x at every batch size, predict <= 1.2x.

It prints the markdown table of benchmarks/RESULTS.md, one pair of columns
per ``--epochs`` value, then the predict timing; the device goes to stderr.
"""

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch._engine import fused_supported
from sklearn_mlarch.networks import CNNNetwork


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def hand_written_fit(X, y, epochs, batch_size, lr, device, seed):
    torch.manual_seed(seed)
    est = CNNClassifier()
    net = CNNNetwork((1, 28, 28), 10, channels=est.channels, kernel_size=est.kernel_size,
                     pool_size=est.pool_size, batch_norm=est.batch_norm, dropout=est.dropout,
                     hidden_sizes=est.hidden_sizes).to(device)
    # the estimator's Adam: the fused kernel where torch has one for the device
    fused = {"fused": True} if fused_supported(torch.optim.Adam, str(device)) else {}
    opt = torch.optim.Adam(net.parameters(), lr=lr, **fused)
    Xt = torch.as_tensor(X, device=device)
    yt = torch.as_tensor(y, device=device)
    net.train()
    total = torch.zeros((), device=device)
    for _ in range(epochs):
        order = torch.randperm(len(Xt), device=device)
        for start in range(0, len(Xt), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.detach()
        float(total)  # one read per epoch, as a divergence check would
    return net, Xt


def hand_written_predict(net, X, device, chunk=4096):
    net.eval()
    with torch.no_grad():
        Xt = torch.as_tensor(X, device=device)  # from numpy, as the estimator starts
        out = torch.cat([torch.softmax(net(Xt[i:i + chunk]), 1)
                         for i in range(0, len(Xt), chunk)])
    return out.cpu().numpy()


def timed(fn, device):
    _sync(device)
    t = time.perf_counter()
    result = fn()
    _sync(device)
    return time.perf_counter() - t, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--epochs", type=int, nargs="+", default=[3],
                        help="one pair of columns per value")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", default="64,256,1024")
    args = parser.parse_args()
    device = args.device
    rng = np.random.RandomState(0)
    X = rng.rand(args.n, 1, 28, 28).astype(np.float32)
    y = rng.randint(0, 10, args.n)
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "CPU"
    # stdout is the markdown of RESULTS.md (python -m sklearn_mlarch bench)
    print(f"device: {name}; torch {torch.__version__}; n={args.n}, epochs={args.epochs}, "
          f"repeats={args.repeats}", file=sys.stderr)
    print("| batch size | " + " | ".join(f"{e} epochs: loop / estimator (s) | ratio"
                                         for e in args.epochs) + " |")
    print("|---|" + "---|---|" * len(args.epochs))
    lr = CNNClassifier().lr
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        est = CNNClassifier(max_epochs=1, batch_size=bs, device=device)
        hand_written_fit(X[:2 * bs], y[:2 * bs], 1, bs, lr, device, 0)  # warm-up
        est.fit(X[:2 * bs], y[:2 * bs])
        cells = []
        for epochs in args.epochs:
            est.set_params(max_epochs=epochs)
            plain, ours = [], []
            for r in range(args.repeats):
                t, (net, Xt) = timed(lambda: hand_written_fit(X, y, epochs, bs, lr, device, r),
                                     device)
                plain.append(t)
                t, _ = timed(lambda: est.set_params(random_state=r).fit(X, y), device)
                ours.append(t)
            ratio = statistics.median([a / b for a, b in zip(ours, plain)])
            cells.append(f"{statistics.median(plain):.3f} / {statistics.median(ours):.3f} | "
                         f"{ratio:.2f}")
        print(f"| {bs} | " + " | ".join(cells) + " |", flush=True)
    plain, ours = [], []
    for _ in range(max(args.repeats, 3)):
        plain.append(timed(lambda: hand_written_predict(net, X, device), device)[0])
        ours.append(timed(lambda: est.predict_proba(X), device)[0])
    ratio = statistics.median([a / b for a, b in zip(ours, plain)])
    print(f"\n`predict_proba` on {args.n:,} images: hand-written "
          f"{statistics.median(plain):.4f} s, CNNClassifier {statistics.median(ours):.4f} s, "
          f"ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
