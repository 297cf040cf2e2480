import torch

from sklearn_mlarch.utils import torch_threads, worker_threads


def test_torch_threads_restores_even_on_error():
    before = torch.get_num_threads()
    try:
        with torch_threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError
    except RuntimeError:
        pass
    assert torch.get_num_threads() == before


def test_worker_threads_follows_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert worker_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert worker_threads() == torch.get_num_threads()


def test_loky_workers_cap_an_exported_omp_num_threads(monkeypatch, digits):
    # joblib keeps an OMP_NUM_THREADS the user exported: without the cap each
    # of n_jobs workers would take that many threads
    from joblib import Parallel, cpu_count, delayed
    from sklearn.ensemble import BaggingClassifier
    from skorch.callbacks import Callback

    from sklearn_mlarch import CNNClassifier
    from sklearn_mlarch.utils._testing import fast_instance

    class RecordThreads(Callback):
        def on_train_begin(self, net, **kwargs):
            self.threads_ = torch.get_num_threads()

    monkeypatch.setenv("OMP_NUM_THREADS", str(2 * cpu_count()))
    share = max(1, cpu_count() // 2)
    assert set(Parallel(n_jobs=2)(delayed(worker_threads)() for _ in range(4))) == {share}
    X, y = digits
    cnn = fast_instance(CNNClassifier, input_shape=(1, 8, 8), max_epochs=1,
                        callbacks=[RecordThreads()])
    bag = BaggingClassifier(cnn, n_estimators=2, n_jobs=2, random_state=0).fit(X, y)
    assert {dict(m.net_.callbacks_)["RecordThreads"].threads_
            for m in bag.estimators_} == {share}
    # in this process (no worker) the exported value still counts
    assert worker_threads() == 2 * cpu_count()


def test_loky_cap_holds_when_joblib_starts_in_another_thread(monkeypatch):
    import threading

    from joblib import Parallel, cpu_count, delayed

    monkeypatch.setenv("OMP_NUM_THREADS", str(2 * cpu_count()))
    seen = []
    thread = threading.Thread(target=lambda: seen.extend(
        Parallel(n_jobs=2)(delayed(worker_threads)() for _ in range(4))))
    thread.start()
    thread.join()
    assert set(seen) == {max(1, cpu_count() // 2)}
