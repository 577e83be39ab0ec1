"""Benchmarks run by make targets (`make bench-*`); they print figures, they assert nothing.

Kept beside the package, not in it: they are not shipped in the wheel or the image.
"""
