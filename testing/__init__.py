"""Test and demo machinery: the seeded local forge, test servers, package builder.

Not part of an installed `migrator`; the tests, the demo and the benchmarks use it from
a checkout.
"""
