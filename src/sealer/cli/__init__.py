"""Command-line interface: thin click commands over the library."""

from sealer.cli.signals import install_early as _install_early

_install_early()  # before the heavy imports of the commands (see sealer.cli.signals)
