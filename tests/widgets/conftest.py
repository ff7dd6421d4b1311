import pytest

from quire.widgets.registry import default_registry


@pytest.fixture(scope="session")
def widgets():
    return default_registry()


def bilingual(en: str, zh: str = "中") -> dict:
    return {"zh": zh, "en": en}


@pytest.fixture
def make_field(widgets):
    """Build a field model of a widget from a few keys, as a template would declare it."""

    def make(type_name: str, key: str = "value", label: str | None = None, **config):
        widget = widgets[type_name]
        data = {"key": key, "type": type_name, "label": bilingual(label or key.title()), **config}
        return widget, widget.FieldModel.model_validate(data)

    return make
