from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL server (.ci/run starts one; see scripts/start_postgres.sh)."""
    import os

    url = os.environ.get("ROMAN_ASN_TEST_POSTGRES")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL catalog tests: ROMAN_ASN_TEST_POSTGRES unset")
        pytest.skip('no PostgreSQL test server: run eval "$(scripts/start_postgres.sh)" to enable')
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_location(request, tmp_path):
    """A new, empty catalog location on each backend (a database of its own on PostgreSQL)."""
    if request.param == "sqlite":
        yield str(tmp_path / "catalog.db")
        return
    import uuid

    import sqlalchemy as sa

    server = request.getfixturevalue("postgres_url")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    base = server.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()
