"""The live dashboard: counters kept as leads change, and the answers read from them.

`aggregates` turns one lead item (as the table stream shows it) into what it contributes to the
counters; `view` turns counter cells into the dashboard, the funnel and the trends. Both are pure:
the store (`leadrelay.store.dashboard`) reads and writes, and `consumer` applies stream records to
it (called by the events function, whose stream mapping carries the dashboard's records too).
"""
