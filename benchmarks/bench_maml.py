"""MAML and FOMAML: the sinusoid protocol, time per meta-iteration, few-shot digits.

Three parts, each printing a markdown table (figures go to RESULTS.md):

``sinusoid``
    The MAML paper's regression protocol (Finn, Abbeel and Levine, ICML
    2017, section 5.1): network 1-40-40-1 ReLU, K=10 support points, inner
    learning rate 0.01, one inner step in training, meta-batch 25 tasks,
    Adam 1e-3, ``--iters`` meta-iterations (30,000 by default). Test: 600
    new tasks, 10 support and 100 query points each, MSE after 1 and 10
    adaptation steps with 95 % intervals. Baseline: the same network trained
    on all tasks jointly (as many Adam steps, on 25 tasks x 10 points each)
    and then fine-tuned the same way.
``timing``
    Time per meta-iteration of MAMLRegressor against a plain torch.func
    loop written here (vmap over the tasks, functional_call, grad, Adam),
    on the sinusoid protocol, alternating which goes first.
``digits``
    Few-shot classification on load_digits: meta-train on classes 0-4,
    test 5-way 1-shot and 5-shot episodes on classes 5-9 (``--episodes``,
    15 queries per class); also meta-trained on 0-4 with each class's
    rotations and mirror images as 35 more classes. Baselines: nearest centroid on raw pixels, and
    fine-tuning a network of the same architecture (64-256-5) pre-trained on 0-4
    (best of several learning rates and step counts, picked on the test
    episodes themselves, which favours the baseline).

    python benchmarks/bench_maml.py sinusoid --threads 1
    python benchmarks/bench_maml.py timing --repeats 4 6 8     # a row per --repeats
    python benchmarks/bench_maml.py digits --threads 1
    python benchmarks/bench_maml.py sinusoid --iters 300 --tasks 50   # a smoke run

Each part prints the markdown table of benchmarks/RESULTS.md (the sinusoid
part also two ratios); headings and progress go to stderr.
"""

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestCentroid
from torch.func import functional_call, grad, vmap

from sklearn.base import clone

from sklearn_mlarch import (FeedForwardClassifier, FeedForwardRegressor, MAMLClassifier,
                            MAMLRegressor)
from sklearn_mlarch.datasets import SinusoidTasks, sample_episodes, split_classes
from sklearn_mlarch.meta_learning import evaluate_adaptation
from sklearn_mlarch.networks import MLPNetwork

# the paper's network, meta-trained with Adam at 1e-3 (the wrapped estimator's lr)
PAPER_NETWORK = FeedForwardRegressor(hidden_sizes=(40, 40), lr=1e-3)
PAPER = dict(k_shot=10, n_query=10, inner_lr=0.01, inner_steps=1, meta_batch_size=25)


def fmt(res, i):
    return f"{res['mean'][i]:.3f} ± {res['ci95'][i]:.3f}"


def shell_with_weights(cls, network, network_state, fit_args, **params):
    """A fitted meta-estimator of ``network`` whose network holds ``network_state``.

    Lets a baseline network be fine-tuned and scored by exactly the same
    code (evaluate_adaptation) as the meta-learned ones.
    """
    network = clone(network).set_params(lr=1e-12)  # one meta-iteration that changes nothing
    shell = cls(network, **{**params, "n_meta_iter": 1, "random_state": 0})
    shell.fit(*fit_args)
    shell.net_.module_.network.load_state_dict(network_state)
    return shell


# ----------------------------------------------------------------- sinusoid
def joint_pretraining(iters, seed=0):
    torch.manual_seed(seed)
    net = MLPNetwork(1, 1, hidden_sizes=(40, 40))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    tasks = SinusoidTasks()
    for _ in range(iters):
        X, y = tasks.sample(25, 10, gen)
        loss = ((net(X.float().reshape(-1, 1)) - y.float().reshape(-1, 1)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.state_dict()


def sinusoid(args):
    tasks = SinusoidTasks()
    print(f"Sinusoid, K=10, {args.iters} meta-iterations, {args.tasks} test tasks "
          "(MSE, mean ± 95 % interval)", file=sys.stderr)
    print("| method | after 1 step | after 10 steps | training time |")
    print("|---|---|---|---|", flush=True)
    rows = []

    def row(name, res, seconds):
        rows.append((name, res))
        print(f"| {name} | {fmt(res, 0)} | {fmt(res, 1)} | {seconds} |", flush=True)

    for name, first_order in [("MAML (`MAMLRegressor`)", False),
                              ("FOMAML (`first_order=True`)", True)]:
        t = time.perf_counter()
        maml = MAMLRegressor(PAPER_NETWORK, **PAPER, first_order=first_order,
                             n_meta_iter=args.iters, random_state=0).fit(tasks)
        seconds = time.perf_counter() - t
        res = evaluate_adaptation(maml, tasks, steps=[1, 10], n_tasks=args.tasks, n_query=100,
                                  random_state=1)
        row(name, res, f"{seconds:.0f} s ({1000 * seconds / args.iters:.2f} ms/iter)")
    t = time.perf_counter()
    state = joint_pretraining(args.iters)
    seconds = time.perf_counter() - t
    shell = shell_with_weights(MAMLRegressor, PAPER_NETWORK, state, (tasks,), **PAPER)
    res = evaluate_adaptation(shell, tasks, steps=[1, 10], n_tasks=args.tasks, n_query=100,
                              random_state=1)
    row(f"same network trained on all tasks jointly ({args.iters:,} Adam steps of 25 tasks "
        "x 10 points), then fine-tuned the same way", res, f"{seconds:.0f} s")
    maml10, joint10 = rows[0][1]["mean"][1], rows[2][1]["mean"][1]
    print(f"\nMAML after 10 steps / joint baseline after 10 steps: {maml10 / joint10:.2f}; "
          f"FOMAML / MAML after 1 step: {rows[1][1]['mean'][0] / rows[0][1]['mean'][0]:.2f}")


# ------------------------------------------------------------------- timing
def plain_torch_func_loop(iters, first_order, seed=0):
    """MAML on the sinusoid protocol as one would write it by hand with torch.func."""
    torch.manual_seed(seed)
    net = MLPNetwork(1, 1, hidden_sizes=(40, 40))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    tasks = SinusoidTasks()

    def inner_loss(params, X, y):
        return ((functional_call(net, params, (X,)) - y) ** 2).mean()

    def task_query_loss(params, Xs, ys, Xq, yq):
        grads = grad(inner_loss)(params, Xs, ys)
        if first_order:
            grads = {k: g.detach() for k, g in grads.items()}
        adapted = {k: p - 0.01 * grads[k] for k, p in params.items()}
        return inner_loss(adapted, Xq, yq)

    for _ in range(iters):
        X, y = tasks.sample(25, 20, gen)
        X, y = X.float(), y.float()
        params = dict(net.named_parameters())
        losses = vmap(task_query_loss, in_dims=(None, 0, 0, 0, 0))(
            params, X[:, :10], y[:, :10], X[:, 10:], y[:, 10:])
        opt.zero_grad()
        losses.mean().backward()
        opt.step()


def timing(args):
    print(f"Time per meta-iteration ({args.timing_iters} meta-iterations per run, "
          f"{args.repeats} alternating pairs; torch threads: {torch.get_num_threads()})",
          file=sys.stderr)
    variant = "loop / estimator (ms), median ratio, fastest-run ratio"
    print(f"| run | MAML: {variant} | FOMAML: {variant} | FOMAML speed-up (estimator) |")
    print("|---|---|---|---|")
    tasks = SinusoidTasks()
    for repeats in args.repeats:  # one row per value: a whole run of the script each
        per_iter, cells = {}, []
        for name, first_order in [("MAML", False), ("FOMAML", True)]:
            est = MAMLRegressor(PAPER_NETWORK, **PAPER, first_order=first_order,
                                n_meta_iter=args.timing_iters, random_state=0)
            plain_torch_func_loop(20, first_order)  # warm-up
            MAMLRegressor(PAPER_NETWORK, **PAPER, first_order=first_order,
                          n_meta_iter=20).fit(tasks)
            plain, ours = [], []
            for r in range(repeats):
                runs = [("plain",
                         lambda: plain_torch_func_loop(args.timing_iters, first_order, r)),
                        ("ours", lambda: est.set_params(random_state=r).fit(tasks))]
                for label, fn in (runs if r % 2 == 0 else runs[::-1]):
                    t = time.perf_counter()
                    fn()
                    (plain if label == "plain" else ours).append(time.perf_counter() - t)
            ratio = statistics.median([a / b for a, b in zip(ours, plain)])
            ms = [1000 * statistics.median(v) / args.timing_iters for v in (plain, ours)]
            per_iter[name] = ms
            cells.append(f"{ms[0]:.2f} / {ms[1]:.2f}, {ratio:.3f}, {min(ours) / min(plain):.3f}")
        print(f"| {repeats} pairs | {cells[0]} | {cells[1]} | "
              f"{per_iter['MAML'][1] / per_iter['FOMAML'][1]:.2f}x |", flush=True)


# ------------------------------------------------------------------- digits
# a 64-256-5 network, meta-trained with Adam at 1e-3 (the wrapped estimator's lr)
DIGITS_NETWORK = FeedForwardClassifier(hidden_sizes=(256,), lr=1e-3)
DIGITS = dict(n_way=5, meta_batch_size=16)


def dihedral_classes(X, y):
    """Each training class in its 8 rotations and mirror images, each a class of its own.

    Class augmentation by rotation, as in the Omniglot protocol of Santoro
    et al. (2016) that the MAML paper follows: 5 classes become 40.
    """
    imgs = X.reshape(-1, 8, 8)
    views = [np.rot90(imgs, r, axes=(1, 2)) for r in range(4)]
    views += [np.rot90(imgs[:, :, ::-1], r, axes=(1, 2)) for r in range(4)]
    return (np.concatenate([v.reshape(len(X), -1) for v in views]),
            np.concatenate([y + 10 * i for i in range(len(views))]))


def pretrain_on_classes(X, y, epochs=100, seed=0):
    torch.manual_seed(seed)
    net = MLPNetwork(X.shape[1], 5, hidden_sizes=DIGITS_NETWORK.hidden_sizes)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(y)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(Xt), generator=gen).split(64):
            loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.state_dict()


def digits(args):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = split_classes(X / 16, y, test_classes=[5, 6, 7, 8, 9])
    state = pretrain_on_classes(X_train, y_train)
    X_aug, y_aug = dihedral_classes(X_train, y_train)
    print(f"Few-shot digits: meta-trained on classes 0-4, tested on 5-way episodes of "
          f"classes 5-9 ({args.episodes} episodes, 15 queries per class; accuracy %, mean ± "
          "95 % interval)", file=sys.stderr)
    results = {}
    for k in (1, 5):
        nc = [NearestCentroid().fit(a, b).score(c, d) for a, b, c, d in sample_episodes(
            X_test, y_test, 5, k, 15, args.episodes, random_state=1)]
        nc = np.array(nc) * 100
        results.setdefault("nearest centroid, raw pixels", []).append(
            (nc.mean(), 1.96 * nc.std(ddof=1) / np.sqrt(len(nc))))
        best = None
        for lr in (0.01, 0.1, 0.4):
            shell = shell_with_weights(MAMLClassifier, DIGITS_NETWORK, state,
                                       (X_train, y_train), **{**DIGITS, "k_shot": k},
                                       shared_head=False, inner_lr=lr)
            res = evaluate_adaptation(shell, X_test, y_test, steps=[1, 10, 50], k_shot=k,
                                      n_query=15, n_tasks=args.episodes, random_state=1)
            i = int(np.argmax(res["mean"]))
            if best is None or res["mean"][i] > best[0]:
                best = (res["mean"][i], res["ci95"][i], lr, res["steps"][i])
        results.setdefault("fine-tuning a network pre-trained on 0–4 (best lr, steps)",
                           []).append((100 * best[0], 100 * best[1]))
        for name, first_order, augment in [
                ("MAML", False, False), ("FOMAML", True, False),
                ("MAML, classes augmented by rotation and mirroring", False, True),
                ("FOMAML, classes augmented by rotation and mirroring", True, True)]:
            t = time.perf_counter()
            maml = MAMLClassifier(DIGITS_NETWORK, **DIGITS, k_shot=k, first_order=first_order,
                                  inner_lr=args.digits_inner_lr, inner_steps=args.digits_steps,
                                  n_meta_iter=args.digits_iters, random_state=0)
            maml.fit(*((X_aug, y_aug) if augment else (X_train, y_train)))
            res = evaluate_adaptation(maml, X_test, y_test, steps=args.digits_steps, k_shot=k,
                                      n_query=15, n_tasks=args.episodes, random_state=1)
            results.setdefault(name, []).append((100 * res["mean"][0], 100 * res["ci95"][0]))
            print(f"  {name}, {k}-shot: {time.perf_counter() - t:.0f} s", file=sys.stderr,
                  flush=True)
    print("| method | 1-shot | 5-shot |")
    print("|---|---|---|")
    for name, cells in results.items():
        print(f"| {name} | " + " | ".join(f"{m:.1f} ± {h:.1f}" for m, h in cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="+", choices=["sinusoid", "timing", "digits"])
    parser.add_argument("--iters", type=int, default=30000)
    parser.add_argument("--tasks", type=int, default=600)
    parser.add_argument("--timing-iters", type=int, default=500)
    parser.add_argument("--repeats", type=int, nargs="+", default=[4],
                        help="timing: alternating pairs per run; one table row per value")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--digits-iters", type=int, default=2000)
    parser.add_argument("--digits-inner-lr", type=float, default=0.4)
    parser.add_argument("--digits-steps", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's own choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    # stdout is the markdown of RESULTS.md (python -m sklearn_mlarch bench)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    for i, part in enumerate(args.parts):
        if i:
            print()
        {"sinusoid": sinusoid, "timing": timing, "digits": digits}[part](args)


if __name__ == "__main__":
    main()
