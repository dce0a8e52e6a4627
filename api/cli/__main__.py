"""``python -m api.cli``: the ``eventry`` command, for processes started without the entry point."""

from api.cli import main

main()
