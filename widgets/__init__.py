"""Quire's form widgets: one module per field type, found by `registry.discover_widgets`.

To add a widget, write one module here with a `Widget` subclass and a module-level
`WIDGET = MyWidget()`; see `money.py` for a complete example and `docs/widgets.md` for what a
widget owns and how its macros are rendered (input, read-only, print and design modes).
"""
