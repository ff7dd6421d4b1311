from pathlib import Path

from quire.designer.docs import render
from quire.widgets.registry import default_registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "template-format.md"


def test_the_committed_template_format_doc_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/template-format.md is stale: run "
        "`python -m quire.designer.docs > docs/template-format.md`"
    )


def test_the_doc_describes_every_widget_and_its_settings():
    text = render()
    for widget in default_registry():
        assert f"### `{widget.type_name}`" in text
    assert '| `currency` | text | `"CNY"` | ISO 4217 currency code. |' in text
    assert "| `assert` | text | required |" in text
