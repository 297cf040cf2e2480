"""Data beyond memory: a memmap larger than the fit can hold, an image folder
read by worker processes, and what augmentation does to accuracy.

    python benchmarks/bench_data.py memmap --rows 4200000   # a 3.3 GB uint8 file
    python benchmarks/bench_data.py folder --images 3000
    python benchmarks/bench_data.py augment --seeds 3

memmap: synthetic 1x28x28 uint8 images (10 classes: a bright bar whose
position is the class, under uniform noise) written to a .npy file, fitted
for one epoch by a small CNN, each fit in a fresh process so that its peak
resident memory (``ru_maxrss``) is its own. The throughput of the memmap is
compared with an in-memory fit of the same rows (a slice small enough to
hold), side by side. folder: PNGs written to class folders, read by
torchvision's ``ImageFolder`` when it is installed (else a ten-line folder
dataset with PIL), through ``Streamed(dataset, num_workers=k)``. augment:
load_digits as 1x8x8 images, 5-fold, with and without ``augment='crop'``;
and one UCR set (ArrowHead, official split) with and without
``augment='window'`` (sktime's offline copy), several seeds.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROWS_PER_CHUNK = 100_000


def synthetic_images(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    X = rng.integers(0, 96, (n, 1, 28, 28), dtype=np.uint8)
    rows = 2 + 2 * y
    X[np.arange(n), 0, rows] += 120  # the class's bar
    return X, y


def write_memmap(path, n):
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 1, 28, 28))
    labels = np.empty(n, dtype=np.int64)
    for start in range(0, n, ROWS_PER_CHUNK):
        stop = min(n, start + ROWS_PER_CHUNK)
        X[start:stop], labels[start:stop] = synthetic_images(stop - start, start)
    X.flush()
    del X
    np.save(path.replace(".npy", "_y.npy"), labels)


def small_cnn():
    from sklearn_mlarch import CNNClassifier

    return CNNClassifier(channels=(8,), hidden_sizes=(32,), max_epochs=1, batch_size=128,
                         random_state=0, verbose=0)


def fit_once(args):
    """One fit in this process; prints its time and peak memory as JSON."""
    import torch

    torch.set_num_threads(args.threads)
    y = np.load(args.path.replace(".npy", "_y.npy"))
    X = np.load(args.path, mmap_mode="r")
    if args.how == "memory":
        X = np.array(X)  # read whole: the usual in-memory fit
    before = peak_resident_mb()
    start = time.perf_counter()
    small_cnn().fit(X, y)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "rows": len(y), "peak_mb": peak_resident_mb(),
                      "peak_before_fit_mb": before}))


def peak_resident_mb():
    """This process's peak resident memory (VmHWM), in MB.

    Not ``ru_maxrss``: on Linux it carries over the parent's peak into a
    child started by fork and exec (the parent here wrote gigabytes through
    a mapping), where VmHWM starts anew with the new program.
    """
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def run_fit(path, how, threads):
    out = subprocess.run([sys.executable, __file__, "_fit", "--path", path, "--how", how,
                          "--threads", str(threads)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def memmap(args):
    folder = args.dir or tempfile.mkdtemp(prefix="bench_data-")
    os.makedirs(folder, exist_ok=True)
    big = os.path.join(folder, "big.npy")
    small = os.path.join(folder, "small.npy")
    if not os.path.exists(big):
        write_memmap(big, args.rows)
    if not os.path.exists(small):
        write_memmap(small, args.slice_rows)
    size_gb = os.path.getsize(big) / 1e9
    print("| fit (one epoch, CNN channels=(8,), batch 128) | rows | data (GB) | time (s) "
          "| rows/s | peak resident memory (GB) |")
    print("|---|---|---|---|---|---|")
    rates = {}
    runs = [("in memory (np.array of the file)", small, "memory"),
            ("memmap, the same rows", small, "memmap")] * args.pairs
    if not args.no_whole:
        runs.append(("memmap, the whole file", big, "memmap"))
    for label, path, how in runs:
        r = run_fit(path, how, args.threads)
        rate = r["rows"] / r["seconds"]
        rates.setdefault(how + (":big" if path == big else ""), []).append(rate)
        gb = (os.path.getsize(path)) / 1e9
        print(f"| {label} | {r['rows']:,} | {gb:.2f} | {r['seconds']:.1f} | {rate:,.0f} | "
              f"{r['peak_mb'] / 1024:.2f} |", flush=True)
    ratio = np.mean(rates["memmap"]) / np.mean(rates["memory"])
    print(f"\nThroughput of the memmap over the in-memory fit of the same "
          f"{args.slice_rows:,} rows: {ratio:.2f}x (means of {args.pairs} alternating runs "
          f"each). The whole file is {size_gb:.2f} GB.")


# ------------------------------------------------------------------ folder
class FolderImages:
    """(x, y) from class folders of PNGs, x a (1, H, W) uint8 array (torchvision-free)."""

    def __init__(self, root):
        self.classes = sorted(os.listdir(root))
        self.samples = [(os.path.join(root, c, f), i) for i, c in enumerate(self.classes)
                        for f in sorted(os.listdir(os.path.join(root, c)))]
        self.targets = [t for _, t in self.samples]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        from PIL import Image

        path, target = self.samples[i]
        with Image.open(path) as image:
            return np.asarray(image.convert("L"))[None], target


def image_folder(root):
    try:
        from torchvision.datasets import ImageFolder
        from torchvision.transforms import v2
    except ImportError:
        import torch

        class Folder(FolderImages, torch.utils.data.Dataset):
            pass

        return Folder(root), "a PIL folder dataset (torchvision is not installed)"
    return (ImageFolder(root, transform=v2.Compose([v2.Grayscale(), v2.PILToTensor()])),
            "torchvision.datasets.ImageFolder")


def folder(args):
    from PIL import Image

    from sklearn_mlarch import Streamed

    root = tempfile.mkdtemp(prefix="bench_folder-")
    X, y = synthetic_images(args.images, 0)
    for i, (image, label) in enumerate(zip(X, y)):
        os.makedirs(os.path.join(root, str(label)), exist_ok=True)
        Image.fromarray(image[0]).save(os.path.join(root, str(label), f"{i}.png"))
    dataset, kind = image_folder(root)
    print(f"| {kind}, {args.images} PNGs of 28x28, one epoch | time (s) | images/s |")
    print("|---|---|---|")
    small_cnn().fit(Streamed(dataset))  # warm-up: imports, file cache
    for workers in (0, 2, 0, 2):
        start = time.perf_counter()
        small_cnn().fit(Streamed(dataset, num_workers=workers))
        seconds = time.perf_counter() - start
        print(f"| num_workers={workers} | {seconds:.2f} | {args.images / seconds:,.0f} |",
              flush=True)


# ----------------------------------------------------------------- augment
def augment(args):
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from sklearn_mlarch import CNNClassifier
    from sklearn_mlarch.datasets import load_digits_images

    seeds = range(args.seeds)
    X, y = load_digits_images()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    print("| data, model | augment | mean accuracy | std | runs | time per fit (s) |")
    print("|---|---|---|---|---|---|")
    for name in (None, "crop"):
        start, scores = time.perf_counter(), []
        for seed in seeds:
            scores += list(cross_val_score(CNNClassifier(augment=name, random_state=seed),
                                           X, y, cv=cv))
        print(f"| digits 1x8x8, CNNClassifier(), 5-fold x {len(seeds)} seeds | {name} | "
              f"{np.mean(scores):.4f} | {np.std(scores):.4f} | {len(scores)} | "
              f"{(time.perf_counter() - start) / len(scores):.1f} |", flush=True)
    try:
        from sktime.datasets import load_UCR_UEA_dataset
    except ImportError:
        print("\n(sktime is not installed: the UCR row is skipped; pip install sktime)")
        return
    data = {split: load_UCR_UEA_dataset(args.ucr, split=split, return_type="numpy3D")
            for split in ("train", "test")}
    for name in (None, "window"):
        start, scores = time.perf_counter(), []
        for seed in seeds:
            model = CNNClassifier(augment=name, random_state=seed).fit(*data["train"])
            scores.append(model.score(*data["test"]))
        print(f"| {args.ucr} (official split), CNNClassifier(), {len(seeds)} seeds | {name} | "
              f"{np.mean(scores):.4f} | {np.std(scores):.4f} | {len(scores)} | "
              f"{(time.perf_counter() - start) / len(scores):.1f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("memmap")
    m.add_argument("--rows", type=int, default=4_200_000)
    m.add_argument("--slice-rows", type=int, default=200_000)
    m.add_argument("--threads", type=int, default=2)
    m.add_argument("--dir", default=None, help="where the files go (reused when present)")
    m.add_argument("--pairs", type=int, default=2,
                   help="alternating in-memory and memmap fits of the slice")
    m.add_argument("--no-whole", action="store_true", help="skip the fit of the whole file")
    f = sub.add_parser("folder")
    f.add_argument("--images", type=int, default=3000)
    a = sub.add_parser("augment")
    a.add_argument("--seeds", type=int, default=3)
    a.add_argument("--ucr", default="ArrowHead")
    one = sub.add_parser("_fit")
    one.add_argument("--path")
    one.add_argument("--how", choices=["memory", "memmap"])
    one.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    {"memmap": memmap, "folder": folder, "augment": augment, "_fit": fit_once}[args.command](args)


if __name__ == "__main__":
    main()
