"""How fast does the trainer train? Two measurements, each written with provenance:

* :func:`run_benchmark` (``python -m gce_lab bench``) -- the throughput of the trainer's fast
  path against a plain PyTorch ``DataLoader`` loop, network by network
  (:mod:`~gce_lab.pipeline.bench.throughput`);
* :func:`lab_run` (``python -m gce_lab bench --lab-run``) -- the ``lab`` profile's time to
  accuracy on clean CIFAR-10 (:mod:`~gce_lab.pipeline.bench.time_to_accuracy`).

The modules: :mod:`~gce_lab.pipeline.bench.cases` (the networks, sizes and targets),
:mod:`~gce_lab.pipeline.bench.plain_loop` (the baseline), :mod:`~gce_lab.pipeline.bench.variants`
(one variant timed, on the trainer's own steps), :mod:`~gce_lab.pipeline.bench.agreement` (the two
paths' losses compared), :mod:`~gce_lab.pipeline.bench.timing` (clocks, host syncs, FLOPs, the
matmul roof) and :mod:`~gce_lab.pipeline.bench.output` (the results files and the table).
"""

from gce_lab.pipeline.bench.cases import CASES, DEFAULT_CPU_MODELS, DEFAULT_MODELS, LAB_EXPERIMENTS, SIZES
from gce_lab.pipeline.bench.throughput import run_benchmark
from gce_lab.pipeline.bench.time_to_accuracy import lab_run

__all__ = ["run_benchmark", "lab_run", "CASES", "SIZES", "DEFAULT_MODELS", "DEFAULT_CPU_MODELS", "LAB_EXPERIMENTS"]
