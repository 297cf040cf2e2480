"""Framework overhead: CNNClassifier.fit against a hand-written PyTorch loop.

Both train the same CNNNetwork (the estimator's defaults) on load_digits as
1x8x8 images with Adam (the same implementation: torch's fused kernel where
torch has one for the device, as the estimator uses), the same batch size
and the same number of epochs,
timed side by side in one process, alternating (and alternating which goes
first), ``--repeats`` times. The
hand-written loop draws its dropout masks from a generator of its own
(``use_generator``), as the estimator does, so both compute the same thing
and the ratio measures the framework alone.

    python benchmarks/bench_overhead.py --repeats 16 --epochs 10

It prints the markdown table of benchmarks/RESULTS.md; the machine and the
settings go to stderr.
"""

import argparse
import platform
import statistics
import sys
import time

import torch
from sklearn.datasets import load_digits

from sklearn_mlarch import CNNClassifier
from sklearn_mlarch._engine import fused_supported
from sklearn_mlarch.networks import CNNNetwork, use_generator


def plain_torch_fit(X, y, epochs, batch_size, lr, seed):
    """The loop a PyTorch user writes by hand: shuffle, slice, step."""
    torch.manual_seed(seed)
    est = CNNClassifier()
    net = CNNNetwork((1, 8, 8), 10, channels=est.channels, kernel_size=est.kernel_size,
                     pool_size=est.pool_size, batch_norm=est.batch_norm,
                     dropout=est.dropout, hidden_sizes=est.hidden_sizes)
    fused = {"fused": True} if fused_supported(torch.optim.Adam, "cpu") else {}
    opt = torch.optim.Adam(net.parameters(), lr=lr, **fused)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt = torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1, 8, 8)
    yt = torch.as_tensor(y)
    net.train()
    with use_generator(torch.Generator().manual_seed(seed)):
        _epochs(net, opt, loss_fn, Xt, yt, epochs, batch_size)
    return net


def _epochs(net, opt, loss_fn, Xt, yt, epochs, batch_size):
    for _ in range(epochs):
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = loss_fn(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    # batch_size=64 is what the default 'auto' picks for 1,797 samples; the loop needs a number
    est = CNNClassifier(input_shape=(1, 8, 8), max_epochs=args.epochs, batch_size=64,
                        random_state=0)
    ours, plain = [], []
    plain_torch_fit(X, y, 1, est.batch_size, est.lr, 0)  # warm-up both paths
    CNNClassifier(input_shape=(1, 8, 8), max_epochs=1).fit(X, y)
    def run_plain(r):
        t = time.perf_counter()
        plain_torch_fit(X, y, args.epochs, est.batch_size, est.lr, r)
        plain.append(time.perf_counter() - t)

    def run_ours(r):
        t = time.perf_counter()
        est.set_params(random_state=r).fit(X, y)
        ours.append(time.perf_counter() - t)

    for r in range(args.repeats):
        # alternate which goes first: on this machine the second of a pair
        # runs about 4 % slower, whichever it is
        for run in ((run_plain, run_ours) if r % 2 == 0 else (run_ours, run_plain)):
            run(r)
    ratios = [a / b for a, b in zip(ours, plain)]
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"torch threads {torch.get_num_threads()}, torch {torch.__version__}; "
          f"epochs={args.epochs} batch_size={est.batch_size} repeats={args.repeats}",
          file=sys.stderr)
    # stdout is the markdown table of RESULTS.md (python -m sklearn_mlarch bench)
    print("| | median time (s) |")
    print("|---|---|")
    print(f"| hand-written PyTorch loop | {statistics.median(plain):.3f} |")
    print(f"| CNNClassifier.fit | {statistics.median(ours):.3f} |")
    print(f"| **ratio ours / plain (median of {args.repeats} paired runs)** | "
          f"**{statistics.median(ratios):.3f}** (min {min(ratios):.2f}, "
          f"max {max(ratios):.2f}) |")
    return statistics.median(ratios)


if __name__ == "__main__":
    main()
