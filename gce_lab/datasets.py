"""The data sets, in one registry: names, image shapes, classes, printed names and where they come from.

Every module that needs to know a data set (its number of classes for the noise models, its
shape for the models, its title for a table, its files for the loader) reads
:data:`DATASET_INFO`; nothing else lists them. :func:`register_dataset` adds one (e.g. a small
synthetic one in a test) without editing any other file; an experiment trains it when it names it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from gce_lab.validation import check_choice

__all__ = ["DatasetInfo", "DATASET_INFO", "DATASET_LABELS", "register_dataset", "dataset_info"]

_CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_CIFAR100_CLASSES = tuple(
    """
apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle
caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish
forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle
mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine
possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar
sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale
willow_tree wolf woman worm""".split()
)


@dataclass(frozen=True)
class DatasetInfo:
    """What is known about a data set before loading it.

    Attributes:
        name: the name used in run ids and results (``"fashion_mnist"``).
        title: the printed name (``"Fashion-MNIST"``).
        channels, size: the images are ``channels x size x size``.
        classes: the official class names, index = label.
        n_train, n_test: the official training and test set sizes.
        snapshots: offline snapshot file stem -> printed name of results on it (e.g. the lossy
            ``cifar10_jpeg`` -> ``"CIFAR-10-JPEG"``).
        torchvision_class: the torchvision data set class.
        torchvision_dir: its folder under the data root (present means "files there").
    """

    name: str
    title: str
    channels: int
    size: int
    classes: tuple[str, ...]
    n_train: int
    n_test: int
    snapshots: dict[str, str] = field(default_factory=dict)
    torchvision_class: str = ""
    torchvision_dir: str = ""

    @property
    def num_classes(self) -> int:
        """The number of classes c."""
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return self.channels, self.size, self.size


#: The data sets of the paper.
DATASET_INFO: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "cifar10",
            "CIFAR-10",
            3,
            32,
            _CIFAR10_CLASSES,
            50_000,
            10_000,
            {"cifar10_jpeg": "CIFAR-10-JPEG"},
            "CIFAR10",
            "cifar-10-batches-py",
        ),
        DatasetInfo(
            "cifar100", "CIFAR-100", 3, 32, _CIFAR100_CLASSES, 50_000, 10_000, {}, "CIFAR100", "cifar-100-python"
        ),
        DatasetInfo(
            "fashion_mnist",
            "Fashion-MNIST",
            1,
            28,
            _FASHION_CLASSES,
            60_000,
            10_000,
            {"fashion_mnist": "Fashion-MNIST"},
            "FashionMNIST",
            "FashionMNIST/raw",
        ),
    )
}
#: The paper's data sets, in the order of its tables.
_TABLE_ORDER = ("fashion_mnist", "cifar10", "cifar100")


class _DatasetLabels(Mapping[str, str]):
    """Printed names, read from :data:`DATASET_INFO`: the paper's in the order of its tables
    (Fashion-MNIST, CIFAR-10, CIFAR-100), then those registered later."""

    def _names(self) -> list[str]:
        return [*_TABLE_ORDER, *(name for name in DATASET_INFO if name not in _TABLE_ORDER)]

    def __getitem__(self, name: str) -> str:
        return DATASET_INFO[name].title

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


#: Printed names, in the order of the paper's tables, then any registered data set's.
DATASET_LABELS: Mapping[str, str] = _DatasetLabels()


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    """Add ``info`` to :data:`DATASET_INFO` (a name already there is refused); returns it."""
    if not isinstance(info, DatasetInfo):
        raise ValueError(f"info must be a DatasetInfo, got {type(info).__name__}")
    if info.name in DATASET_INFO:
        raise ValueError(f"dataset name must be new, got {info.name!r}, which is taken")
    DATASET_INFO[info.name] = info
    return info


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry of data set ``name``; ValueError naming the data sets otherwise."""
    return DATASET_INFO[check_choice("dataset", name, DATASET_INFO)]
