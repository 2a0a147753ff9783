"""`nodedc_gateway.domain` exports its rules by name (docs/embedding.md) without importing
its modules until a name is asked for."""

from __future__ import annotations

import importlib

import pytest

from nodedc_gateway import domain
from tests.support.interpreter import last_line


@pytest.mark.parametrize("name", domain.__all__)
def test_every_exported_name_comes_from_its_module(name: str) -> None:
    value = getattr(domain, name)
    module = importlib.import_module(f"nodedc_gateway.domain.{domain._HOME[name]}")
    assert value is getattr(module, name)


def test_the_lazy_table_lists_exactly_the_exports() -> None:
    assert sorted(domain._HOME) == sorted(domain.__all__)
    assert len(domain._HOME) == sum(len(names) for names in domain._MODULES.values())


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_rule"):
        domain.no_such_rule  # noqa: B018
    from nodedc_gateway.domain import validation  # a submodule is still importable

    assert validation.__name__ == "nodedc_gateway.domain.validation"


def test_importing_the_package_or_one_module_loads_no_other_module() -> None:
    code = (
        "import sys\n"
        "from nodedc_gateway.domain import SecretStr\n"
        "from nodedc_gateway.domain.secret import SecretStr as same\n"
        "assert SecretStr is same\n"
        "print(' '.join(m for m in sys.modules if m.startswith('nodedc_gateway.domain.')))\n"
    )
    assert last_line(code).split() == ["nodedc_gateway.domain.secret"]
