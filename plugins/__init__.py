"""Connectors: how department systems (ERP, HR, purchasing, spreadsheets) feed Quire's fields
and report datasets.

`base` is the contract (the `Connector` class and its errors), `registry` finds connector types
through the `quire.connectors` entry points, `cache` is the deadline and TTL cache the runtime
puts around every call, `builtin/` holds the `sql`, `file` and `rest` connectors, and
`testing/` the contract kit plugin authors run in their own tests. See docs/plugins.md.
"""
