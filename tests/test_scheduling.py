"""The parallel run's grouping (tests/conftest.py): a test's server comes from its ids."""

from tests.conftest import server_of


def test_a_tests_server_is_read_from_its_parameter_ids() -> None:
    assert server_of("tests/a.py::test_x[embedded]") == "embedded"
    assert server_of("tests/a.py::test_x[external-raw.events]") == "external"
    assert server_of("tests/a.py::test_x[embedded-9--no Ad ID \\(a summary row\\?]") == "embedded"


def test_tests_without_a_server_have_none() -> None:
    assert server_of("tests/a.py::test_x") is None
    assert server_of("tests/a.py::test_x[raw.events]") is None
    assert server_of("tests/a.py::test_x[embeddedness]") is None
