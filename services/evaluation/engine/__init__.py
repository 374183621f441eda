"""The evaluation scoring engine: pure functions over one cycle's inputs, no I/O, no database.

``types`` holds the inputs and outputs; the loading side builds a ``CycleInput`` and stores
what ``score_cycle`` returns.
"""
