"""Command-line interface: click verbs over the library, the settings object (flags + environment), rendering.
The only package that reads the environment or writes to the terminal; nothing imports it."""

from sealer.cli.signals import install_early as _install_early

_install_early()  # before the heavy imports of the commands (see sealer.cli.signals)
