"""Command line: ``python -m gce_lab run|status|list|bench|human-stats`` (examples: :data:`EXAMPLES`).

Filters take several values, space- or comma-separated, and add up when given twice
(``--methods cce --methods mae`` is ``--methods cce mae``). A flag that does not apply to the
chosen executor or command (``--partition`` without ``--executor slurm``) is refused. ``--epochs N``
shortens (or lengthens) every run and files the results under ``<profile>_epochs<N>``, never
under the profile's name. Ctrl-C stops a run after saying, in one line, that its checkpoint is kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the pipeline's modules are imported by the command that needs them (a fast --help)
    from gce_lab.pipeline.cluster import SlurmOptions
    from gce_lab.pipeline.planning import Plan
    from gce_lab.pipeline.runner import Where

__all__ = ["main", "build_parser", "EXAMPLES"]

#: What ``--help`` shows under the commands, as plain text.
EXAMPLES = """examples:
  python -m gce_lab list                                   experiments and profiles
  python -m gce_lab run table1 --profile smoke             every Table 1 run, synthetic images, minutes
  python -m gce_lab run table1 --profile cpu --dataset fashion_mnist --methods cce lq --noise uniform0.4
  python -m gce_lab status table1 --profile cpu            what is done, what is missing
  python -m gce_lab run table1 --profile smoke --dataset cifar10 --executor local   a process per run
  python -m gce_lab run table1 --profile lab --precision fp16 --no-compile --download   e.g. on a Colab T4
  python -m gce_lab run table1 --profile paper --executor slurm --partition gpu --time-min 600
  python -m gce_lab human-stats --dataset cifar10          chapter 11's statistics from the CIFAR-N labels
  python -m gce_lab bench --device cpu --full-epoch        the cpu profile's network on this CPU

Filters (--dataset, --methods, --noise, --seeds) take several values, space- or comma-separated.
--epochs N files its results under <profile>_epochs<N>, never under the profile's name.
Errors print one line and exit with status 2; --debug shows the traceback."""


def _split(values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part for value in values for part in value.split(",") if part]


def _seeds(values: Sequence[str] | None) -> list[int] | None:
    parts = _split(values)
    if parts is None:
        return None
    try:
        return [int(p) for p in parts]
    except ValueError as err:
        raise ValueError(f"seeds must be integers >= 0, got {' '.join(parts)}") from err


def _add_selection(parser: argparse.ArgumentParser) -> None:
    from gce_lab.datasets import DATASET_INFO
    from gce_lab.methods import METHOD_INFO
    from gce_lab.pipeline.experiments import EXPERIMENT_NAMES, RUN_NOISE_KINDS
    from gce_lab.pipeline.profiles import PROFILE_NAMES

    parser.add_argument("experiment", help=f"one of: {', '.join(EXPERIMENT_NAMES)}")
    parser.add_argument("--profile", default="smoke", help=f"one of: {', '.join(PROFILE_NAMES)} (default: smoke)")
    parser.add_argument(
        "--dataset",
        action="extend",
        nargs="+",
        metavar="NAME",
        help=f"data sets among {', '.join(DATASET_INFO)} (default: the experiment's)",
    )
    parser.add_argument(
        "--methods",
        action="extend",
        nargs="+",
        metavar="METHOD",
        help=f"losses among {', '.join(METHOD_INFO)} (default: the experiment's)",
    )
    parser.add_argument(
        "--noise",
        action="extend",
        nargs="+",
        metavar="NOISE",
        help=f"noise settings <kind><eta>, e.g. uniform0.4, with kind among {', '.join(RUN_NOISE_KINDS)} "
        "(a human label set has no eta; default: the experiment's; `status` lists them)",
    )
    parser.add_argument("--seeds", action="extend", nargs="+", metavar="SEED", help="seeds (default: the profile's)")
    parser.add_argument("--epochs", type=int, help="override the epoch count; results go to <profile>_epochs<N>")
    parser.add_argument("--results-dir", help="results root (default: $GCE_LAB_RESULTS or results/)")
    parser.add_argument("--checkpoints-dir", help="checkpoint root (default: $GCE_LAB_CHECKPOINTS or checkpoints/)")


def _add_run(parser: argparse.ArgumentParser) -> None:
    from gce_lab.pipeline.device import PRECISION_CHOICES

    _add_selection(parser)
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cuda, mps or cpu")
    parser.add_argument(
        "--precision",
        help=f"one of: {', '.join(PRECISION_CHOICES)} (default: the profile's, auto: bf16 where the GPU has it "
        "natively, else fp16 with gradient scaling on CUDA, fp32 on MPS and the CPU)",
    )
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        help="torch.compile the model (default: the profile's, where the device can; --compile where it cannot "
        "is an error)",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        default=None,
        help="let torchvision download missing data sets (checked by MD5; the default on Colab)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--executor",
        default="inline",
        help="inline (this process, the default), local (one process "
        "per run through submitit) or slurm (a job array through submitit)",
    )
    parser.add_argument(
        "--slurm-config",
        help="TOML file with partition, gpus_per_node, cpus_per_task, mem_gb, "
        "timeout_min, parallelism (the options below override it)",
    )
    parser.add_argument("--partition", help="Slurm partition")
    parser.add_argument("--gpus", type=int, help="GPUs per job (default 1)")
    parser.add_argument("--cpus", type=int, help="CPUs per job (default 8)")
    parser.add_argument("--mem-gb", type=int, help="memory per job in GB (default 32)")
    parser.add_argument(
        "--time-min",
        type=int,
        help="time limit per job in minutes (default 240); a job that reaches "
        "it is requeued and resumes from its checkpoint",
    )
    parser.add_argument("--parallelism", type=int, help="jobs running at once (default 2)")
    parser.add_argument(
        "--jobs-dir",
        help="submitit's folder for job files and logs (default: <results>/jobs; on a cluster a path the nodes share)",
    )


def _add_status(parser: argparse.ArgumentParser) -> None:
    _add_selection(parser)
    parser.add_argument("--runs", action="store_true", help="list every run, not only the summary")


def _add_human_stats(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="cifar10", help="cifar10 or cifar100 (default: cifar10)")
    parser.add_argument("--results-dir", help="results root (default: $GCE_LAB_RESULTS or results/)")
    parser.add_argument(
        "--download",
        action="store_true",
        help="fetch a missing label file from the CIFAR-N repository (SHA-256 checked)",
    )


def _add_bench(parser: argparse.ArgumentParser) -> None:
    from gce_lab.pipeline.bench.cases import CASES, DEFAULT_CPU_MODELS, DEFAULT_MODELS, LAB_EXPERIMENTS, SIZES

    parser.add_argument(
        "--size", default="full", help=f"one of: {', '.join(SIZES)} (default: full; tiny: seconds on a CPU)"
    )
    parser.add_argument(
        "--models",
        action="extend",
        nargs="+",
        metavar="MODEL",
        help=f"networks among {', '.join(CASES)} (default: {' '.join(DEFAULT_MODELS)}; on a CPU: "
        f"{' '.join(DEFAULT_CPU_MODELS)})",
    )
    parser.add_argument(
        "--out",
        help="results file, or a folder for the default name (default: results/bench/<device>[-tiny][-lab-run].json)",
    )
    parser.add_argument("--steps", type=int, help="timed steps per window")
    parser.add_argument("--warmup", type=int, help="untimed steps first (the first one compiles)")
    parser.add_argument("--repeats", type=int, help="timed windows (the median is reported)")
    parser.add_argument("--batch-size", type=int, help="training batch size")
    parser.add_argument(
        "--workers", type=int, help="baseline DataLoader workers (default: min(8, cores/2) with a GPU, 0 on a CPU)"
    )
    parser.add_argument("--probe-factor", type=int, help="K of the fast_eager_batchxK variant (0: none)")
    parser.add_argument("--full-epoch", action="store_true", help="also time one real epoch of each path")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cuda, mps or cpu")
    parser.add_argument("--no-compile", action="store_true", help="do not torch.compile the fast path")
    parser.add_argument("--seed", type=int, default=0, help="seed of the images, weights and batches")
    parser.add_argument(
        "--lab-run",
        action="extend",
        nargs="*",
        metavar="EXPERIMENT",
        help="instead: the lab profile's time to accuracy on clean CIFAR-10, for "
        f"{' / '.join(LAB_EXPERIMENTS)} (default: table1)",
    )


#: The commands: their one-line help and the function that declares their arguments.
_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None] | None, dict[str, str]]] = {
    "run": ("train the runs of an experiment that are not finished yet", _add_run, {}),
    "status": ("show which runs of an experiment are done", _add_status, {}),
    "list": ("list the experiments and profiles", None, {}),
    "human-stats": (
        "compute chapter 11's statistics of the human label sets from the CIFAR-N label files",
        _add_human_stats,
        {
            "description": "Count, from the CIFAR-N label files, what chapter 11 shows of human label noise, and "
            "write it to results/human_label_stats/<dataset>/ with provenance (the book then needs no label file)."
        },
    ),
    "bench": ("time the fast training path against a plain PyTorch loop", _add_bench, {}),
}


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``python -m gce_lab``: every command's arguments, or only those of
    ``commands`` (the others are listed with their help), so that parsing one command imports
    only the modules it needs and ``--help`` none of the pipeline's."""
    wanted = set(_COMMANDS) if commands is None else set(commands)
    parser = argparse.ArgumentParser(
        prog="python -m gce_lab",
        description="Train, track and time the experiments of gce-lab (Zhang & Sabuncu, NeurIPS 2018).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error (by default: one line, exit status 2)"
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (summary, declare, extra) in _COMMANDS.items():
        sub = subparsers.add_parser(name, help=summary, **extra)
        if declare is not None and name in wanted:
            declare(sub)
    return parser


#: Flags of ``run`` that only some executors use (the others would ignore them silently).
_EXECUTOR_FLAGS = {
    "partition": ("slurm",),
    "gpus": ("slurm",),
    "cpus": ("slurm",),
    "mem_gb": ("slurm",),
    "slurm_config": ("slurm",),
    "time_min": ("local", "slurm"),
    "parallelism": ("local", "slurm"),
    "jobs_dir": ("local", "slurm"),
    "no_progress": ("inline",),
}
#: Flags of ``bench`` that only the throughput benchmark uses, not ``--lab-run``.
_THROUGHPUT_FLAGS = ("models", "steps", "warmup", "repeats", "batch_size", "workers", "probe_factor", "full_epoch")
_PATH_FLAGS = ("results_dir", "checkpoints_dir", "jobs_dir", "slurm_config", "out")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _given(args: argparse.Namespace, name: str) -> bool:
    value = getattr(args, name, None)
    return value is not None and value is not False


def _check_flags(args: argparse.Namespace) -> None:
    """Refuse an empty path and a flag that does not apply to the chosen executor or benchmark."""
    for name in _PATH_FLAGS:
        value = getattr(args, name, None)
        if value is not None and not value.strip():
            raise ValueError(f"{_flag(name)} must be a path, got {value!r} (leave the flag out for the default)")
    if args.command == "run":
        from gce_lab.pipeline.runner import EXECUTORS
        from gce_lab.validation import check_choice

        check_choice("executor", args.executor, EXECUTORS)
        wrong = [_flag(n) for n, kinds in _EXECUTOR_FLAGS.items() if _given(args, n) and args.executor not in kinds]
        if wrong:
            uses = "; ".join(
                f"{_flag(n)} is for --executor {'/'.join(k)}" for n, k in _EXECUTOR_FLAGS.items() if _flag(n) in wrong
            )
            verb = "does" if len(wrong) == 1 else "do"
            raise ValueError(f"{', '.join(wrong)} {verb} not apply to --executor {args.executor} ({uses})")
    if args.command == "bench" and args.lab_run is not None:
        wrong = [_flag(n) for n in _THROUGHPUT_FLAGS if _given(args, n)]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} apply only to the throughput benchmark, not to --lab-run")


def _plan(args: argparse.Namespace) -> Plan:
    from gce_lab.pipeline.planning import Selection, plan

    how = {"device": args.device, "precision": args.precision, "compile": args.compile} if args.command == "run" else {}
    selection = Selection(
        args.experiment,
        args.profile,
        datasets=_split(args.dataset),
        methods=_split(args.methods),
        noises=_split(args.noise),
        seeds=_seeds(args.seeds),
        epochs=args.epochs,
        **how,
    )
    return plan(selection)


def _where(args: argparse.Namespace) -> Where:
    from gce_lab.pipeline.runner import Where

    return Where(args.results_dir, args.checkpoints_dir)


def _slurm_options(args: argparse.Namespace) -> SlurmOptions:
    from gce_lab.pipeline.cluster import SlurmOptions

    overrides = {
        "partition": args.partition,
        "gpus_per_node": args.gpus,
        "cpus_per_task": args.cpus,
        "mem_gb": args.mem_gb,
        "timeout_min": args.time_min,
        "parallelism": args.parallelism,
    }
    if args.slurm_config:
        return SlurmOptions.from_toml(args.slurm_config, **overrides)
    return SlurmOptions(**{k: v for k, v in overrides.items() if v is not None})


def _submit(args: argparse.Namespace) -> int:
    from gce_lab.pipeline.cluster import submit_runs
    from gce_lab.pipeline.results import results_dir

    options = _slurm_options(args)
    planned = _plan(args)
    label = planned.label
    jobs = submit_runs(
        planned,
        _where(args),
        kind=args.executor,
        options=options,
        download=args.download,
        folder=args.jobs_dir,
        wait=args.executor == "local",
    )
    where = results_dir(args.experiment, label, args.results_dir)
    verb = "finished" if args.executor == "local" else "submitted"
    print(
        f"{len(jobs)} jobs of {args.experiment} ({label}) {verb} with the {args.executor} executor "
        f"({len(planned.runs) - len(jobs)} runs already finished). Results: {where}; "
        f"`python -m gce_lab status {args.experiment} --profile {args.profile}` shows the jobs."
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    from gce_lab.pipeline.provenance import command_line
    from gce_lab.pipeline.results import results_dir
    from gce_lab.pipeline.runner import run_experiment

    if args.executor != "inline":
        return _submit(args)
    started = time.perf_counter()
    planned = _plan(args)
    runs = run_experiment(
        planned,
        _where(args),
        download=args.download,
        progress=not args.no_progress,
        command=command_line(),
    )
    label = planned.label
    where = results_dir(args.experiment, label, args.results_dir)
    print(
        f"{len(runs)} runs of {args.experiment} ({label}) finished; this call took "
        f"{time.perf_counter() - started:.1f} s. Results: {where}"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    from gce_lab.pipeline.cluster import job_states
    from gce_lab.pipeline.runner import experiment_status

    planned = _plan(args)
    table = experiment_status(planned, _where(args))
    label = planned.label
    counts = table["state"].str.split(" ").str[0].value_counts()
    print(
        f"{args.experiment} ({label}): {counts.get('done', 0)} done, {counts.get('partial', 0)} partial, "
        + (f"{counts['failed']} failed (`--runs` says why), " if counts.get("failed") else "")
        + f"{counts.get('todo', 0)} to do, of {len(table)} runs"
    )
    if len(table):
        summary = table.assign(done=table["state"] == "done").groupby(["dataset", "method"], sort=False)["done"]
        print((summary.sum().astype(int).astype(str) + "/" + summary.size().astype(str)).unstack().to_string())
    jobs = job_states(args.experiment, label, args.results_dir)
    if len(jobs):
        counts = jobs["state"].value_counts()
        print("jobs: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    if args.runs:
        print(table.to_string(index=False))
    return 0


def _list() -> int:
    from gce_lab.pipeline.experiments import EXPERIMENTS
    from gce_lab.pipeline.profiles import PROFILES

    print("experiments:")
    for name, spec in EXPERIMENTS.items():
        print(f"  {name:7s} {spec.title}")
    print("profiles:")
    for name, profile in PROFILES.items():
        print(f"  {name:7s} {profile['description']}")
    return 0


def _human_stats(args: argparse.Namespace) -> int:
    from gce_lab.pipeline.human_noise import human_label_file, human_label_sets
    from gce_lab.pipeline.human_stats import human_noise_stats, write_human_stats

    source = human_label_file(args.dataset, download=args.download)
    stats = human_noise_stats(human_label_sets(args.dataset))
    print(f"wrote {write_human_stats(stats, source, args.results_dir)}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from gce_lab.pipeline.bench.throughput import run_benchmark
    from gce_lab.pipeline.bench.time_to_accuracy import lab_run
    from gce_lab.pipeline.provenance import command_line

    if args.lab_run is not None:
        report = lab_run(
            args.size,
            _split(args.lab_run) or ("table1",),
            device=args.device,
            out=args.out,
            compile=False if args.no_compile else None,
            seed=args.seed,
            command=command_line(),
        )
    else:
        report = run_benchmark(
            args.size,
            _split(args.models),
            device=args.device,
            out=args.out,
            steps=args.steps,
            warmup=args.warmup,
            repeats=args.repeats,
            batch_size=args.batch_size,
            workers=args.workers,
            probe_factor=args.probe_factor,
            compile=not args.no_compile,
            full_epoch=args.full_epoch,
            seed=args.seed,
            command=command_line(),
        )
    print(f"results: {report['path']}")
    return 0


#: What Ctrl-C leaves behind, per command (said in one line instead of a traceback).
_INTERRUPTED = {
    "run": "finished runs are recorded; the run in progress keeps the checkpoint of its last finished epoch "
    "and resumes from it when the same command is run again",
    "bench": "the results file keeps what was measured so far",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status: 2 with a one-line message for a user's mistake (bad
    arguments, missing or damaged data or results files, an unwritable folder), with the
    traceback too under ``--debug``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser([word for word in argv if word in _COMMANDS][:1]).parse_args(argv)
    try:
        _check_flags(args)
        if args.command == "run":
            return _run(args)
        if args.command == "status":
            return _status(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "human-stats":
            return _human_stats(args)
        return _list()
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly, as `ls | head` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except (ValueError, OSError, RuntimeError) as err:  # OSError: missing, unreadable or unwritable files
        if args.debug:
            raise
        print(f"error: {' '.join(str(err).split()) or type(err).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"interrupted: {_INTERRUPTED.get(args.command, 'nothing was written')}", file=sys.stderr)
        return 130
