"""Marks the repository root as pytest's rootdir, so tests import `benchmarks` and `policydsl`."""
