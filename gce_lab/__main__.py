"""``python -m gce_lab``: see :mod:`gce_lab.cli`."""

from gce_lab.cli import main

raise SystemExit(main())
