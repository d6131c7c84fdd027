import contextlib
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


@contextlib.contextmanager
def _databases(server: str):
    """A maker of new, empty databases on the PostgreSQL test server (their URLs),
    each dropped at the end."""
    import uuid

    import sqlalchemy as sa

    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    base = server.rsplit("/", 1)[0]
    made: list[str] = []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        made.append(name)
        return f"{base}/{name}"

    try:
        yield make
    finally:
        with admin.connect() as connection:
            for name in made:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_location(request, tmp_path):
    """A new, empty catalog location on each backend (a database of its own on PostgreSQL)."""
    if request.param == "sqlite":
        yield str(tmp_path / "catalog.db")
        return
    with _databases(request.getfixturevalue("postgres_url")) as make:
        yield make()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_catalog(request, tmp_path):
    """A maker of new, empty catalog locations on each backend, for a test that needs
    one per hypothesis example."""
    if request.param == "sqlite":
        count = iter(range(1_000_000))
        yield lambda: str(tmp_path / f"catalog{next(count)}.db")
        return
    with _databases(request.getfixturevalue("postgres_url")) as make:
        yield make
