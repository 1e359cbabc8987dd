"""Accuracy evaluation and speed benchmarks."""
