"""``python -m gce_lab`` and the ``gce-lab`` command: :mod:`gce_lab.pipeline.cli`.

The pipeline needs the ``[experiments]`` extra; without it this says which extra to install
instead of printing a traceback. ``import gce_lab`` (the losses) needs torch and numpy only.
"""

from __future__ import annotations

import sys

#: Top-level modules of the packages the ``[experiments]`` extra installs (see pyproject.toml).
EXPERIMENT_MODULES = frozenset({"torchvision", "pandas", "tqdm", "PIL", "filelock", "submitit"})


def main() -> int:
    """Run the pipeline's command line, or say which extra to install when its packages are missing."""
    try:
        from gce_lab.pipeline.cli import main as cli_main
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in EXPERIMENT_MODULES:
            raise
        print(
            f"python -m gce_lab runs the experiment pipeline, which needs {err.name!r}: "
            "install the extra with  pip install 'gce-lab[experiments]'  (or '.[experiments]' in a checkout)",
            file=sys.stderr,
        )
        return 2
    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
