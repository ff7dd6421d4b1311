"""Quire's form widgets: one module per field type, found by `registry.discover_widgets`.

To add a widget, write one module here with a `Widget` subclass and a module-level
`WIDGET = MyWidget()`; see `money.py` for a complete example.
"""
