"""``python -m gce_lab``: see :mod:`gce_lab.pipeline.cli`."""

from gce_lab.pipeline.cli import main

raise SystemExit(main())
