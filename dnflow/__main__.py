"""``python -m dnflow …``: the same as the ``dnflow`` command (dnflow.cli)."""

from dnflow.cli import main

raise SystemExit(main())
