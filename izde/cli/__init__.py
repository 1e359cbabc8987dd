"""The ``izde`` command line."""
