"""``python -m mlpipex`` is the ``mlpipex`` command."""

from mlpipex.cli import main

raise SystemExit(main())
