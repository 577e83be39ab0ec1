"""Benchmarks run by make targets; they print figures, they assert nothing."""
