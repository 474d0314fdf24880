"""The ``automatch`` command line."""
