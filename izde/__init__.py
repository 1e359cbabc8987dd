"""izde: targeted search for wanted and missing persons in CCTV video.

The public Python API lives in :mod:`izde.api`; importing this package has no side effects.
"""

__version__ = "0.1.0"
