"""Benchmarks and the scale seeder; timings live here, never in the tests."""
