"""Data the app does not need to run, written through its models and domain verbs: the demo (`flask seed-demo`,
`make run`; demo.py) and the zone's scale for the benchmarks (`flask seed-scale`, `make bench`; scale.py). Only the
command line, the benchmarks and the tests import it: no domain verb and no view does."""
