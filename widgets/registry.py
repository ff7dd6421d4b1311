"""The widget registry: every module of a widget package that defines a module-level `WIDGET`.

Discovery is an explicit call (`discover_widgets`), not a side effect of importing a widget
module, so the app factory or a test decides which packages contribute widgets. Adding a widget
to Quire is one new file in `widgets/`; `default_registry()` finds it by scanning the package.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from functools import lru_cache
from types import ModuleType
from typing import Annotated, Any, Union

from pydantic import Field

from .base import CATEGORY_ORDER, FieldBase, Widget

#: Modules of a widget package that are machinery, not widgets.
SUPPORT_MODULES = frozenset({"base", "registry", "rendering"})


class WidgetRegistryError(Exception):
    """Two widgets claim one type name, or a WIDGET is not a Widget."""


class WidgetRegistry:
    """Widgets by type name, in a stable (alphabetical) order for palettes and docs."""

    def __init__(self, widgets: list[Widget] | None = None) -> None:
        self._widgets: dict[str, Widget] = {}
        self._listeners: list[Callable[[WidgetRegistry], None]] = []
        for widget in widgets or []:
            self.register(widget)

    def register(self, widget: Widget) -> None:
        if not isinstance(widget, Widget):
            raise WidgetRegistryError(f"{widget!r} is not a Widget")
        if widget.type_name in self._widgets:
            raise WidgetRegistryError(f"two widgets are called {widget.type_name!r}")
        self._widgets[widget.type_name] = widget
        self._widgets = dict(sorted(self._widgets.items()))

    def add(self, widget: Widget) -> None:
        """Register a widget into a registry in use (a plugin, a test): the table's column
        union and every model that listens (the template format) are rebuilt at once."""
        self.register(widget)
        self._changed()

    def remove(self, type_name: str) -> None:
        """Take a widget out again (the counterpart of `add`, for tests)."""
        if self._widgets.pop(type_name, None) is not None:
            self._changed()

    def on_change(self, listener: Callable[[WidgetRegistry], None]) -> None:
        """Call `listener(registry)` whenever `add` or `remove` changes the set of widgets."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        self.bind()
        for listener in self._listeners:
            listener(self)

    def get(self, type_name: str) -> Widget | None:
        return self._widgets.get(type_name)

    def palette(self) -> list[dict[str, Any]]:
        """The designer's palette: every widget's entry, by category then label."""
        order = list(CATEGORY_ORDER)
        return sorted(
            (widget.palette_item() for widget in self),
            key=lambda item: (order.index(item["category"]), item["label"]["en"]),
        )

    def bind(self) -> WidgetRegistry:
        """Let every widget see the complete registry (tables need their column types)."""
        for widget in self._widgets.values():
            widget.bind(self)
        return self

    def __getitem__(self, type_name: str) -> Widget:
        return self._widgets[type_name]

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._widgets

    def __iter__(self) -> Iterator[Widget]:
        return iter(self._widgets.values())

    def __len__(self) -> int:
        return len(self._widgets)

    def type_names(self) -> list[str]:
        return list(self._widgets)

    def for_field(self, field: FieldBase) -> Widget:
        """The widget that handles a field of a loaded template."""
        return self._widgets[field.type]

    def field_union(self, *, columns_only: bool = False) -> Any:
        """The discriminated union (on `type`) of the widgets' field models, as used by
        `Template.fields` and, with `columns_only`, by table columns."""
        models = tuple(
            widget.FieldModel for widget in self if widget.can_be_column or not columns_only
        )
        return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007


def _widget_modules(package: ModuleType) -> Iterator[ModuleType]:
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.ispkg or info.name.startswith("_") or info.name in SUPPORT_MODULES:
            continue
        yield importlib.import_module(f"{package.__name__}.{info.name}")


def discover_widgets(*packages: str | ModuleType) -> WidgetRegistry:
    """Build a registry from every module with a `WIDGET` in the given packages."""
    registry = WidgetRegistry()
    for package in packages or ("quire.widgets",):
        module = importlib.import_module(package) if isinstance(package, str) else package
        for widget_module in _widget_modules(module):
            widget = getattr(widget_module, "WIDGET", None)
            if widget is not None:
                registry.register(widget)
    return registry.bind()


@lru_cache(maxsize=1)
def default_registry() -> WidgetRegistry:
    """Quire's built-in widgets; built once, on first use."""
    return discover_widgets("quire.widgets")
