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
