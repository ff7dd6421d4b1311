"""Drawing a field with its widget's macros, in one of four modes.

The form page, the read-only view, the PDF print copy and the designer's canvas all call
`render`, so a field looks the same everywhere and a new widget is drawn everywhere by itself.
The macros are Jinja source owned by each widget (`Widget.macros`); this module loads them into
a Jinja environment under the names `widget/<type>.html` (the `.html` suffix keeps Flask's
autoescaping on) and picks the macro for the mode, falling back as the base docstring says.

Usage from Python::

    from quire.widgets.base import FieldView
    from quire.widgets.rendering import render
    html = render(env, FieldView(field, "design", name=field.key, locale="zh_CN"))

and from a Flask template, once `install(app.jinja_env, registry)` ran in the app factory::

    {{ render_widget(view) }}

The designer's canvas has a shortcut that fills the view the way a canvas needs it:
`render_design(env, field, locale)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, TemplateNotFound
from markupsafe import Markup

from .base import BASE_MACROS, FieldBase, FieldView, Widget
from .registry import WidgetRegistry, default_registry

BASE_TEMPLATE = "widget/_base.html"

#: Which macros draw a mode, first found wins (the base template is tried last).
FALLBACKS: dict[str, tuple[str, ...]] = {
    "input": ("render_input",),
    "readonly": ("render_readonly",),
    "print": ("render_print", "render_readonly"),
    "design": ("render_design", "render_input"),
}


def template_name(widget: Widget) -> str:
    return f"widget/{widget.type_name}.html"


class WidgetLoader(BaseLoader):
    """Serves each widget's macro source under `widget/<type>.html`."""

    def __init__(self, registry: WidgetRegistry | None = None) -> None:
        self._registry = registry

    @property
    def registry(self) -> WidgetRegistry:
        return self._registry if self._registry is not None else default_registry()

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if template == BASE_TEMPLATE:
            return BASE_MACROS, None, lambda: True
        if not (template.startswith("widget/") and template.endswith(".html")):
            raise TemplateNotFound(template)
        type_name = template[len("widget/") : -len(".html")]
        if type_name not in self.registry:
            raise TemplateNotFound(template)
        widget = self.registry[type_name]
        # A widget registered again under the same name (tests) must not be served stale.
        return widget.macros or "", None, lambda: self.registry.get(type_name) is widget


def install(env: Environment, registry: WidgetRegistry | None = None) -> None:
    """Let `env` load widget macros and give its templates the `render_widget` global."""
    loader = WidgetLoader(registry)
    env.loader = ChoiceLoader([env.loader, loader]) if env.loader is not None else loader
    env.globals["render_widget"] = lambda view: render(env, view, loader.registry)


def _macro(env: Environment, name: str, candidates: tuple[str, ...]) -> Any:
    module = env.get_template(name).module
    for candidate in candidates:
        macro = getattr(module, candidate, None)
        if macro is not None:
            return macro
    return None


def render(env: Environment, view: FieldView, registry: WidgetRegistry | None = None) -> Markup:
    """The HTML of one field in `view.mode`, drawn by the field's own widget."""
    registry = registry or default_registry()
    widget = registry.for_field(view.field)
    candidates = FALLBACKS[view.mode]
    macro = _macro(env, template_name(widget), candidates) or _macro(env, BASE_TEMPLATE, candidates)
    html: Markup = macro(view)  # an autoescaping environment returns Markup
    return html


def render_design(
    env: Environment,
    field: FieldBase,
    locale: str,
    *,
    name: str | None = None,
    registry: WidgetRegistry | None = None,
) -> Markup:
    """A field as the designer's canvas shows it: the widget's own input, disabled, with the
    choices the field itself lists (a data source's rows are not read on the canvas)."""
    registry = registry or default_registry()
    widget = registry.for_field(field)
    view = FieldView(
        field,
        "design",
        name or field.key,
        locale=locale,
        text=widget.display(field, None, locale) if not widget.has_value else "",
        choices=widget.choices(field, None, locale),
    )
    return render(env, view, registry)


def standalone_environment(registry: WidgetRegistry | None = None) -> Environment:
    """An autoescaping environment with only the widget macros, for rendering without Flask
    (tests, the designer's pure functions)."""
    env = Environment(autoescape=True)
    install(env, registry)
    return env
