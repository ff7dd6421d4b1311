"""Connectors that ship with Quire, registered through the same entry points as plugins."""
