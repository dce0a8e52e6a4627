"""The interfaces: the Flask HTTP API and the ``eventry`` command line. They only translate."""
