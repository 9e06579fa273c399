"""``python -m gce_lab`` and the ``gce-lab`` command: :mod:`gce_lab.pipeline.cli`.

The pipeline needs the ``[experiments]`` extra; without it this says which extra to install
instead of printing a traceback. ``import gce_lab`` (the losses) needs torch and numpy only.
"""

from __future__ import annotations

import importlib.util
import sys

#: Top-level modules of the packages the ``[experiments]`` extra installs (see pyproject.toml).
EXPERIMENT_MODULES = frozenset({"torchvision", "pandas", "tqdm", "PIL", "filelock", "submitit"})


def _missing_extra() -> str | None:
    """The first package of the ``[experiments]`` extra that is not installed (None: all are),
    found without importing any (the command line imports what a command needs when it runs)."""
    for name in sorted(EXPERIMENT_MODULES):
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except ModuleNotFoundError:  # a parent package is missing, or an import hook refuses it
            return name
    return None


def main() -> int:
    """Run the pipeline's command line, or say which extra to install when its packages are missing."""
    missing = _missing_extra()
    if missing is not None:
        print(
            f"python -m gce_lab runs the experiment pipeline, which needs {missing!r}: "
            "install the extra with  pip install 'gce-lab[experiments]'  (or '.[experiments]' in a checkout)",
            file=sys.stderr,
        )
        return 2
    from gce_lab.pipeline.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
