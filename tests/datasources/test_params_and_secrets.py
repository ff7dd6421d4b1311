"""Parameters are bound, never pasted; the secret key comes from config or is derived."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from quire.runtime.config import ConfigError
from quire.runtime.datasources import service, vault
from quire.runtime.errors import Invalid


@pytest.fixture
def staff_db(tmp_path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'staff.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE cost_centers (code TEXT, department TEXT)"))
        conn.execute(
            sa.text("INSERT INTO cost_centers VALUES ('RD-300', 'RD'), ('S-200', 'SALES')")
        )
    yield url, engine
    engine.dispose()


def _count(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM cost_centers")).scalar()


def test_dept_is_bound_from_the_submitters_department(app, user, make_source, staff_db):
    url, _ = staff_db
    make_source("cost-centers", "sql", {"url": url})
    template_source = {
        "key": "cost-centers",
        "connector": "sql",
        "query": "SELECT code, department FROM cost_centers WHERE department = :dept",
        "params": {"dept": "=submitter.department"},
    }
    context = service.form_context(user("rd1"))
    options = service.options_for(user("rd1"), template_source, "code", "code", context)
    assert options == [("RD-300", "RD-300")]


def test_a_drop_table_in_a_parameter_is_harmless(app, user, make_source, staff_db):
    url, engine = staff_db
    source = make_source("cost-centers", "sql", {"url": url})
    query = "SELECT code FROM cost_centers WHERE department = :dept"
    hostile = "RD'; DROP TABLE cost_centers; --"
    assert service.fetch(source, query, {"dept": hostile}, 10) == []
    assert _count(engine) == 2
    context = {"submitter.department": hostile}
    bound = service.bind_params({"dept": "=submitter.department"}, context)
    assert service.fetch(source, query, bound, 10) == [] and _count(engine) == 2


def test_a_reference_to_nothing_is_a_configuration_error():
    with pytest.raises(Invalid) as info:
        service.bind_params({"dept": "=submitter.cost_centre"}, {"submitter.department": "RD"})
    assert info.value.details[0].path == "params.dept"


def test_the_connector_key_is_derived_from_the_secret_key_unless_set(app):
    derived = vault.key_from_config({"SECRET_KEY": "one"})
    assert derived == vault.key_from_config({"SECRET_KEY": "one"})
    assert derived != vault.key_from_config({"SECRET_KEY": "two"})
    own = Fernet.generate_key()
    assert vault.key_from_config({"SECRET_KEY": "one", "CONNECTOR_SECRET_KEY": own.decode()}) == own
    with pytest.raises(ConfigError):
        vault.key_from_config({"SECRET_KEY": "one", "CONNECTOR_SECRET_KEY": "not-a-key"})
    token = vault.encrypt("p@ss")
    assert "p@ss" not in token and vault.decrypt(token) == "p@ss"
    app.extensions["quire.vault"] = Fernet(Fernet.generate_key())  # the key was rotated
    with pytest.raises(vault.SecretUnreadable):
        vault.decrypt(token)


def test_results_are_cached_for_the_sources_ttl(app, make_source, staff_db):
    url, engine = staff_db
    source = make_source("cached", "sql", {"url": url}, ttl=60)
    query = "SELECT code FROM cost_centers ORDER BY code"
    assert len(service.fetch(source, query, {}, 10)) == 2
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO cost_centers VALUES ('HR-400', 'HR')"))
    assert len(service.fetch(source, query, {}, 10)) == 2  # from the cache
    service.result_cache().clear_source("cached")
    assert len(service.fetch(source, query, {}, 10)) == 3
