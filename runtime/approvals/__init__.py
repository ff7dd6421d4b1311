"""The approval engine: routes, decisions, delegation, timeouts. No HTTP inside."""
