"""model_update: the one compare-set-list step of the services' partial updates."""

from __future__ import annotations

import pytest

from apps.core.model_update import model_update
from apps.core.models import ConfigVariable
from apps.core.problems import InvalidInput

pytestmark = pytest.mark.django_db


def _variable() -> ConfigVariable:
    return ConfigVariable.objects.create(name="contract.test.variable", value=1)


def test_only_changed_allowed_fields_are_set_and_named():
    variable = _variable()
    before = variable.name
    changed = model_update(variable, ("name",), {"name": before, "pk": 99})
    assert changed == [] and variable.pk != 99
    assert model_update(variable, ("name",), {"name": "other"}) == ["name"]
    assert variable.name == "other"


def test_others_are_refused_before_anything_is_set():
    variable = _variable()
    with pytest.raises(InvalidInput) as refused:
        model_update(variable, ("name",), {"name": "x", "bogus": 1}, refuse_others=True)
    assert refused.value.errors[0]["field"] == "bogus"
    assert variable.name == "contract.test.variable"


def test_save_writes_the_changed_fields():
    variable = _variable()
    model_update(variable, ("name",), {"name": "saved.name"}, save=True)
    variable.refresh_from_db()
    assert variable.name == "saved.name"
