"""elt: the Python side of the warehouse — sample-data generator and thin loader."""

__version__ = "0.1.0"
