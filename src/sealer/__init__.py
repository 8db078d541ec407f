"""sealer-py: build, share and run cluster images."""

__version__ = "0.1.0"

import logging as _logging

_logging.getLogger("sealer").addHandler(_logging.NullHandler())  # library logs are the CLI's (--debug) to show
