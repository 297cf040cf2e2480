"""Input read batch by batch: memmaps, array-likes, Dask arrays, torch datasets.

The contract: the same batches as the in-memory array for the same seed, so
the same model bit for bit on the CPU; bad input raises and leaves the
estimator as it was.
"""

import multiprocessing
import os
import signal

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import Callback

from sklearn_mlarch import (CNNClassifier, CNNRegressor, DeepEnsembleClassifier,
                            MAMLClassifier, Streamed)
from sklearn_mlarch._training.stream import ArraySource, LazyRows

RNG = np.random.RandomState(0)
X = (RNG.rand(90, 1, 8, 8) * 255).astype(np.uint8)
Y = np.arange(90) % 3
CLF = CNNClassifier(channels=(4,), hidden_sizes=(8,), max_epochs=2, batch_size=16,
                    random_state=0)


@pytest.fixture
def memmap(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r")


def weights(est):
    return [p.detach().clone() for p in est.net_.module_.state_dict().values()]


def assert_same_model(a, b):
    assert all(torch.equal(p, q) for p, q in zip(weights(a), weights(b)))


class PairDataset(torch.utils.data.Dataset):
    """(x, y) items, counting reads; ``targets`` optional (as ImageFolder has)."""

    def __init__(self, X, y, with_targets=False):
        self.X, self.y, self.reads = X, y, 0
        if with_targets:
            self.targets = list(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        self.reads += 1
        return torch.as_tensor(self.X[i]), int(self.y[i])


class PairStream(torch.utils.data.IterableDataset):
    def __iter__(self):
        return ((torch.as_tensor(x), int(t)) for x, t in zip(X, Y))


class IncreasingOnly:
    """An array-like that, like h5py, reads only increasing indices or slices."""

    def __init__(self, array):
        self.array, self.shape, self.dtype = array, array.shape, array.dtype

    def __len__(self):
        return len(self.array)

    def __getitem__(self, idx):
        if not isinstance(idx, slice):
            assert np.all(np.diff(idx) > 0), "h5py reads increasing indices only"
        return self.array[idx]


# --------------------------------------------------------------- same model
@pytest.mark.parametrize("workers", [0, 2])
def test_a_memmap_trains_the_model_of_the_array(memmap, workers):
    expected = clone(CLF).fit(X, Y)
    got = clone(CLF).fit(Streamed(memmap, num_workers=workers), Y)
    assert_same_model(expected, got)
    np.testing.assert_array_equal(expected.predict_proba(X),
                                  got.predict_proba(Streamed(memmap, num_workers=workers)))


def test_a_memmap_is_read_with_pread_not_through_its_mapping(memmap):
    source = ArraySource(memmap)
    assert source.file is not None
    assert ArraySource(memmap[10:]).file is None  # a view: read through indexing
    rows = np.array([5, 6, 7, 40, 2, 89])
    np.testing.assert_array_equal(source.read(np.sort(rows)), X[np.sort(rows)])
    np.testing.assert_array_equal(LazyRows(source, (1, 8, 8), np.float32)[torch.as_tensor(rows)],
                                  X[rows].astype(np.float32))


@pytest.mark.parametrize("settings", [dict(early_stopping=True, validation_fraction=0.2),
                                      dict(augment="flip")])
def test_memmap_held_out_validation_and_augmentation_match_the_array(memmap, settings):
    est = clone(CLF).set_params(**settings)
    assert_same_model(clone(est).fit(X, Y), clone(est).fit(memmap, Y))


def test_sample_weight_and_resumption_on_a_memmap(memmap):
    sw = RNG.rand(len(X))
    assert_same_model(clone(CLF).fit(X, Y, sample_weight=sw),
                      clone(CLF).fit(memmap, Y, sample_weight=sw))
    at_once = clone(CLF).set_params(max_epochs=3).fit(memmap, Y)
    resumed = clone(CLF).set_params(max_epochs=1).fit(memmap, Y)
    resumed.set_params(warm_start=True, max_epochs=2).fit(memmap, Y)
    assert_same_model(at_once, resumed)


def test_a_regressor_and_float64_memmap(tmp_path):
    path = tmp_path / "x.npy"
    Xf = RNG.randn(60, 1, 16)
    np.save(path, Xf)
    y = Xf.mean(axis=(1, 2))
    reg = CNNRegressor(channels=(4,), hidden_sizes=(8,), max_epochs=2, random_state=0)
    a, b = clone(reg).fit(Xf, y), clone(reg).fit(np.load(path, mmap_mode="r"), y)
    assert_same_model(a, b)
    assert b.score(np.load(path, mmap_mode="r"), y) == a.score(Xf, y)


def test_an_array_like_read_in_increasing_order_and_a_dask_array():
    da = pytest.importorskip("dask.array")
    expected = clone(CLF).fit(X, Y)
    assert_same_model(expected, clone(CLF).fit(IncreasingOnly(X), Y))
    dask_fit = clone(CLF).fit(da.from_array(X, chunks=25), Y)
    assert_same_model(expected, dask_fit)
    np.testing.assert_array_equal(dask_fit.predict(da.from_array(X, chunks=25)),
                                  expected.predict(X))


def test_a_dataset_brings_its_labels_read_from_targets_when_it_has_them():
    expected = clone(CLF).fit(X, Y)
    plain = PairDataset(X, Y)
    got = clone(CLF).fit(plain)
    assert_same_model(expected, got)
    assert got.score(plain) == expected.score(X, Y)
    with_targets = PairDataset(X, Y, with_targets=True)
    clone(CLF).set_params(max_epochs=1).fit(with_targets)
    # one read per sample per epoch (and the first rows' shape check): no label pass
    assert with_targets.reads < plain.reads


def test_an_iterable_dataset_for_partial_fit_fit_and_predict():
    a = clone(CLF).partial_fit(X, Y)
    b = clone(CLF).partial_fit(PairStream())
    assert_same_model(a, b)
    assert a.n_iter_ == b.n_iter_ == 1
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(PairStream()))
    assert b.score(PairStream()) == a.score(X, Y)
    assert_same_model(clone(CLF).fit(X, Y), clone(CLF).fit(PairStream()))


def test_meta_estimators_read_a_memmap_as_their_array(memmap):
    base = clone(CLF).set_params(dropout=0.0, max_epochs=1)
    ensemble = DeepEnsembleClassifier(base, n_estimators=2)
    assert_same_model(clone(ensemble).fit(X, Y), clone(ensemble).fit(memmap, Y))
    maml = MAMLClassifier(base, n_way=3, k_shot=2, n_query=2, n_meta_iter=20, meta_batch_size=4)
    a, b = clone(maml).fit(X, Y), clone(maml).fit(memmap, Y)
    assert_same_model(a, b)
    np.testing.assert_array_equal(a.adapt(X[:9], Y[:9]).predict(X),
                                  b.adapt(memmap[:9], Y[:9]).predict(memmap))


# ---------------------------------------------------------------- bad input
def test_nan_found_in_a_batch_raises_and_leaves_the_fitted_model(tmp_path):
    Xf = X.astype(np.float32)
    Xf[70, 0, 3, 3] = np.nan
    path = tmp_path / "x.npy"
    np.save(path, Xf)
    est = clone(CLF).fit(X, Y)
    before = weights(est)
    with pytest.raises(ValueError, match="NaN or infinity"):
        est.fit(np.load(path, mmap_mode="r"), Y)
    assert all(torch.equal(p, q) for p, q in zip(before, weights(est)))


def test_a_truncated_file_is_reported(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, X)
    mm = np.load(path, mmap_mode="r")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 64 * 40)
    with pytest.raises((ValueError, OSError), match="shorter than its shape"):
        clone(CLF).fit(mm, Y)


class Items(torch.utils.data.Dataset):
    def __init__(self, make):
        self.make = make

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return self.make(i)


@pytest.mark.parametrize("make, y, match", [
    (lambda i: (X[i], 1, 2), None, "items of 3 parts"),
    (lambda i: X[i], None, "without labels"),
    (lambda i: (X[i][:, : 4 + i % 2], i % 2), None, "different shapes"),
    (lambda i: (X[i], i % 2), np.arange(5), "inconsistent numbers of samples"),
])
def test_datasets_of_the_wrong_structure_raise(make, y, match):
    est = clone(CLF)
    with pytest.raises(ValueError, match=match):
        est.fit(Items(make), y)
    assert not hasattr(est, "net_") and not hasattr(est, "n_features_in_")


def test_pil_images_ask_for_a_tensor_transform():
    Image = pytest.importorskip("PIL.Image")
    items = Items(lambda i: (Image.fromarray(X[i, 0]), i % 2))
    with pytest.raises(ValueError, match="PILToTensor"):
        clone(CLF).fit(items)


def test_prediction_checks_the_fitted_sample_shape(tmp_path):
    est = clone(CLF).fit(X, Y)
    path = tmp_path / "wide.npy"
    np.save(path, np.zeros((5, 1, 8, 9), dtype=np.uint8))
    with pytest.raises(ValueError, match="shape"):
        est.predict(np.load(path, mmap_mode="r"))


def test_num_workers_is_checked():
    with pytest.raises(ValueError, match="num_workers must be an int >= 0"):
        Streamed(X, num_workers=-1)


class DiesInWorker(PairDataset):
    def __getitem__(self, i):
        if torch.utils.data.get_worker_info() is not None and i == 40:
            os._exit(3)
        return super().__getitem__(i)


def test_a_dying_reader_process_ends_the_fit_and_leaves_the_estimator():
    est = clone(CLF).fit(X, Y)
    before = weights(est)
    with pytest.raises(RuntimeError, match="DataLoader worker"):
        est.fit(Streamed(DiesInWorker(X, Y), num_workers=2))
    assert all(torch.equal(p, q) for p, q in zip(before, weights(est)))


def _fit_in_daemon(queue):
    try:
        clone(CLF).fit(Streamed(X, num_workers=2), Y)
        queue.put("fitted")
    except ValueError as exc:
        queue.put(str(exc))


def test_num_workers_where_processes_cannot_start_says_so():
    # a daemonic process may not start children (a multiprocessing worker)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_fit_in_daemon, args=(queue,), daemon=True)
    process.start()
    message = queue.get(timeout=60)
    process.join(timeout=10)
    assert "num_workers=2" in message and "num_workers=0" in message


def test_data_that_cannot_be_pickled_for_spawned_workers_says_so():
    # under spawn or forkserver (macOS, Windows, Python 3.14's Linux default)
    # workers receive the Dataset pickled: a class defined in a function cannot be
    class Local(PairDataset):
        pass

    context = multiprocessing.get_start_method()
    multiprocessing.set_start_method("spawn", force=True)
    try:
        with pytest.raises(ValueError, match="start by spawn.*top level of an importable "
                                             "module.*num_workers=0") as info:
            clone(CLF).fit(Streamed(Local(X, Y), num_workers=2))
    finally:
        multiprocessing.set_start_method(context, force=True)
    assert "Local" in str(info.value)


def test_padding_is_read_from_the_whole_memmap(tmp_path):
    # an RNN that marks padding with padding_value reads where each series
    # ends from the whole X: a memmap is read whole, a Dataset refused
    from sklearn_mlarch import RNNClassifier

    X = RNG.randn(30, 2, 6)
    X[::2, :, 4:] = -9.0  # the last 2 steps of every other series are padding
    y = np.arange(30) % 2
    np.save(tmp_path / "x.npy", X)
    rnn = RNNClassifier(hidden_size=4, max_epochs=2, padding_value=-9.0, random_state=0)
    expected = clone(rnn).fit(X, y)
    got = clone(rnn).fit(np.load(tmp_path / "x.npy", mmap_mode="r"), y)
    assert_same_model(expected, got)
    with pytest.raises(ValueError, match="reads X whole"):
        clone(rnn).fit(PairDataset(X, y))


def _fit_and_say_what_came(est, X, y):
    return type(X).__name__, clone(est).fit(X, y)


def test_a_joblib_memmap_in_a_worker_gives_the_model_of_the_array():
    # joblib hands large arrays to its workers backed by a memory map
    from joblib import Parallel, delayed

    big = np.repeat(X, 20, axis=0).astype(np.float32)  # 460 kB
    y = np.repeat(Y, 20)
    est = clone(CLF).set_params(max_epochs=1)
    fitted = Parallel(n_jobs=2, max_nbytes="100K")(
        delayed(_fit_and_say_what_came)(est, big, y) for _ in range(2))
    assert fitted[0][0] == "memmap"  # read batch by batch, with pread
    assert_same_model(clone(est).fit(big, y), fitted[0][1])


class RelabelledDataset(PairDataset):
    """torchvision's shape: raw ``targets``, items through ``target_transform``."""

    def __init__(self, X, y):
        super().__init__(X, y, with_targets=True)
        self.target_transform = lambda t: t % 2

    def __getitem__(self, i):
        x, t = super().__getitem__(i)
        return x, self.target_transform(t)


def test_targets_are_trusted_only_where_the_items_agree():
    assert list(clone(CLF).set_params(max_epochs=1).fit(RelabelledDataset(X, Y)).classes_) \
        == [0, 1]
    stale = PairDataset(X, Y, with_targets=True)
    stale.targets = list((Y + 1) % 3)  # left behind by a relabelling
    assert_same_model(clone(CLF).fit(X, Y), clone(CLF).fit(stale))


def test_bad_streams_and_missing_labels_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="each worker would read the whole stream"):
        clone(CLF).fit(Streamed(PairStream(), num_workers=2))
    path = tmp_path / "x.npy"
    np.save(path, X)
    with pytest.raises(ValueError, match="y"):
        clone(CLF).fit(np.load(path, mmap_mode="r"))
    with pytest.raises(ValueError, match="carries no labels"):
        clone(CLF).fit(X, Y).score(np.load(path, mmap_mode="r"))


def test_a_value_too_small_for_float32_is_refused_as_from_an_array(tmp_path):
    Xf = X.astype(np.float64)
    Xf[70, 0, 0, 0] = 1e-41
    np.save(tmp_path / "x.npy", Xf)
    for data in (Xf, np.load(tmp_path / "x.npy", mmap_mode="r")):
        with pytest.raises(ValueError, match="smallest normal"):
            clone(CLF).fit(data, Y)


def test_rows_asked_for_twice_are_read_once_in_increasing_order():
    rows = LazyRows(ArraySource(IncreasingOnly(X)), (1, 8, 8), np.float32)
    np.testing.assert_array_equal(rows[torch.tensor([[3, 3], [1, 3]])].numpy(),
                                  X[[[3, 3], [1, 3]]].astype(np.float32))


def test_a_pickled_memmap_source_carries_its_file_not_its_data(memmap):
    import pickle

    source = ArraySource(memmap)
    blob = pickle.dumps(source)
    assert len(blob) < 1000 < memmap.nbytes
    np.testing.assert_array_equal(pickle.loads(blob).read(np.arange(5, 9)), X[5:9])


class CountedStream(PairStream):
    passes = 0

    def __iter__(self):
        CountedStream.passes += 1
        return super().__iter__()


def test_scoring_a_stream_reads_it_once():
    est = clone(CLF).fit(X, Y)
    CountedStream.passes = 0
    assert est.score(CountedStream()) == est.score(X, Y)
    assert CountedStream.passes == 1


def test_a_deep_ensemble_scores_a_dataset_with_its_labels():
    ensemble = DeepEnsembleClassifier(clone(CLF).set_params(max_epochs=1), n_estimators=2)
    fitted = ensemble.fit(PairDataset(X, Y))
    assert fitted.score(PairDataset(X, Y)) == fitted.score(X, Y)


class _CtrlCAtBatch(Callback):
    """A real Ctrl-C in the middle of an epoch: SIGINT to this process and to
    the DataLoader's reader processes (children whose pid is not in ``others``), as a
    terminal sends it to its group."""

    def __init__(self, batch, others):
        self.batch, self.others, self.seen = batch, others, 0

    def on_batch_end(self, net, **kwargs):
        self.seen += 1
        if self.seen == self.batch:
            for child in multiprocessing.active_children():
                if child.pid not in self.others:
                    os.kill(child.pid, signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_with_reader_processes_stops_them_and_leaves_the_estimator():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        est = clone(CLF).fit(X, Y)
        before = weights(est)
        children = set(multiprocessing.active_children())
        est.set_params(callbacks=[_CtrlCAtBatch(3, {c.pid for c in children})])
        with pytest.raises(KeyboardInterrupt):
            est.fit(Streamed(X, num_workers=2), Y)
        # the fit that was interrupted left nothing
        assert all(torch.equal(p, q) for p, q in zip(before, weights(est)))
        for child in set(multiprocessing.active_children()) - children:
            child.join(timeout=10)  # the readers end: none is left behind
        assert set(multiprocessing.active_children()) <= children
        est.set_params(callbacks=None)
        assert_same_model(est.fit(Streamed(X, num_workers=2), Y), clone(CLF).fit(X, Y))
    finally:
        signal.signal(signal.SIGINT, previous)


def _spool_with_a_small_disk(queue):
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk: write() fails, no signal
    est = clone(CLF).fit(X, Y)
    before = weights(est)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))  # 2 kB of X's 5.8 kB fit
    try:
        est.fit(PairStream())
        queue.put(("fitted", None))
    except BaseException as exc:  # noqa: B902 - whatever it is, the test says it
        unchanged = all(torch.equal(p, q) for p, q in zip(before, weights(est)))
        queue.put((f"{type(exc).__name__}: {exc}", unchanged))


def test_a_disk_that_fills_while_a_stream_is_written_says_so():
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_spool_with_a_small_disk, args=(queue,))
    process.start()
    try:
        message, unchanged = queue.get(timeout=120)
    finally:
        process.kill()
        process.join()
    assert message.startswith("OSError") and "temporary file" in message \
        and "TMPDIR" in message, message
    assert unchanged is True


class _FailingStream(torch.utils.data.IterableDataset):
    def __iter__(self):
        yield torch.zeros(1, 8, 8), 0
        raise FileNotFoundError("image 17 is missing")


def test_the_streams_own_os_errors_are_not_blamed_on_the_disk():
    with pytest.raises(FileNotFoundError, match="image 17 is missing") as info:
        clone(CLF).fit(_FailingStream())
    assert "TMPDIR" not in str(info.value)


def test_data_a_spawned_worker_cannot_unpickle_says_so(monkeypatch):
    # the class pickles here (by reference to its module) but the spawned
    # worker cannot import that module, as with a class defined in a notebook
    import sys
    import types

    module = types.ModuleType("_only_in_this_process")
    Local = type("Local", (PairDataset,), {"__module__": module.__name__})
    module.Local = Local
    monkeypatch.setitem(sys.modules, module.__name__, module)
    context = multiprocessing.get_start_method()
    multiprocessing.set_start_method("spawn", force=True)
    try:
        with pytest.raises(RuntimeError, match="exited unexpectedly.*start by spawn.*"
                                               "notebook or __main__.*num_workers=0"):
            clone(CLF).fit(Streamed(Local(X, Y), num_workers=1))
    finally:
        multiprocessing.set_start_method(context, force=True)
