"""The scoring language indicator and evaluation both speak: rules, formulas, one indicator's score.

Pure: no I/O, and no import of any service (nor of ``services.common``), so either service may
use it and it stays the published vocabulary of an indicator system, as a snapshot carries it.
"""
