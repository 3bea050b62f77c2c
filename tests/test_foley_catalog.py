"""Every registered sound model: the catalogue's contract (speed is measured in benchmarks/foley.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from voxpost.foley.catalog import models

SR = 48000
MODELS = models()


def test_at_least_twenty_models():
    assert len(MODELS) >= 20, sorted(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_contract(name):
    m = MODELS[name]
    assert re.fullmatch(r"[A-Z]{3,5}[A-Za-z]*", m.cat(m.defaults())), m.cat_id
    fx = m.fx_name(m.defaults())
    assert fx and "_" not in fx and "-" not in fx
    assert m.examples and m.keywords and m.description
    y = m.render(m.defaults(), 1.25, SR, np.random.default_rng(0), None)
    assert y.dtype == np.float32 and y.shape == (int(round(1.25 * SR)),) and np.isfinite(y).all()
    assert 0 < np.abs(y).max() <= 1.0
