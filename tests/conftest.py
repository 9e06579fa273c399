"""Fixtures shared by the test modules."""

from collections.abc import Callable, Iterator

import pytest
import torch

from gce_lab.noise import make_noise, train_val_split
from gce_lab.pipeline.data import load_dataset
from gce_lab.pipeline.train import TrainData


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Run single-threaded: tiny models are faster so, and do not fight other processes for 2 cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def noisy_synthetic_cifar10() -> Callable[[int, int], TrainData]:
    """A maker of tiny training data: synthetic CIFAR-10-shaped images, 40 % uniform label noise,
    10 % held out as the noisy validation set, a clean test set."""

    def make(n_train: int, n_test: int) -> TrainData:
        ds = load_dataset("cifar10", source="synthetic", synthetic_size=(n_train, n_test))
        noisy = make_noise("uniform", 0.4, "cifar10").corrupt(ds.y_train.numpy(), 0)
        tr, va = train_val_split(n_train, 0.1, 0)
        y, wrong = torch.from_numpy(noisy.labels), torch.from_numpy(noisy.is_noisy)
        return TrainData(ds.x_train[tr], y[tr], wrong[tr], ds.x_train[va], y[va], ds.x_test, ds.y_test, 10)

    return make
