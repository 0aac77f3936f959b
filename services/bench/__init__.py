"""Benchmarks: each measures a part of talkstream against a raw baseline run in the same
process and returns the rates (``talkstream bench ...``, services/cli/bench.py, prints them).

Nothing outside this package and the CLI's bench commands imports it, so the runtime never
loads it; the HTTP benchmarks need httpx, which comes with the ``bench`` extra.
"""
