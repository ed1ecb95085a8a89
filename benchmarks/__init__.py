"""Benchmarks: how fast the workshop's code runs, measured side by side in one run.

    python -m benchmarks            # every section, under 10 minutes on 2 cores
    python -m benchmarks --quick    # tiny sizes, under a minute (the test suite runs it)
    python -m benchmarks --help

One module per question: transitions, throughput, time_to_agent, dreaming,
memory. Each prints a small table and, where the issue sets a goal, a ratio
line such as "speedup (vectorized / loop): 123.4x  goal >= 100x: met".
Importing this package does nothing; `python -m benchmarks` runs it.
"""
