import importlib
import pkgutil
import sys
import textwrap

import quire.widgets
from quire.widgets.base import FieldBase, PaletteEntry, Widget
from quire.widgets.registry import SUPPORT_MODULES, discover_widgets


def widget_modules():
    for info in pkgutil.iter_modules(quire.widgets.__path__):
        if not info.name.startswith("_") and info.name not in SUPPORT_MODULES:
            yield importlib.import_module(f"quire.widgets.{info.name}")


def test_the_registry_lists_every_widget_module(widgets):
    modules = list(widget_modules())
    assert sorted(module.WIDGET.type_name for module in modules) == widgets.type_names()
    assert len(widgets) == 21


def test_every_widget_declares_what_the_designer_and_renderers_need(widgets):
    for widget in widgets:
        assert isinstance(widget, Widget)
        assert set(widget.label) == {"zh", "en"}
        assert isinstance(widget.palette, PaletteEntry)
        assert issubclass(widget.FieldModel, FieldBase)
        assert widget.FieldModel.model_fields["type"].annotation.__args__ == (widget.type_name,)


def test_adding_a_widget_touches_one_file(tmp_path, monkeypatch):
    package = tmp_path / "extra_widgets"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rating.py").write_text(
        textwrap.dedent(
            """
            from typing import Literal
            from quire.widgets.base import FieldBase, PaletteEntry, Widget

            class RatingField(FieldBase):
                type: Literal["rating"]
                stars: int = 5

            class RatingWidget(Widget):
                type_name = "rating"
                label = {"zh": "评分", "en": "Rating"}
                palette = PaletteEntry(category="choice", icon="star")
                FieldModel = RatingField

                def parse_value(self, field, raw, ctx):
                    return int(raw)

            WIDGET = RatingWidget()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        registry = discover_widgets("quire.widgets", "extra_widgets")
        assert "rating" in registry
        assert (
            registry["rating"].parse(
                registry["rating"].FieldModel(
                    key="score", type="rating", label={"zh": "分", "en": "S"}
                ),
                "4",
            )
            == 4
        )
    finally:
        sys.modules.pop("extra_widgets", None)
        sys.modules.pop("extra_widgets.rating", None)
        # Rebinding restores the built-in table's column union.
        quire.widgets.registry.default_registry().bind()
