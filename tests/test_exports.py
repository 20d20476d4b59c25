"""Summary exports through pandas' writers, and names in every row label."""

import io
import re

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV

from sklearn_dml import InferenceResults, StructuralDMLRegressor, pack_targets
from sklearn_dml.datasets import make_linear_confounded

pd = pytest.importorskip("pandas")
pytestmark = pytest.mark.filterwarnings("ignore:Dropping one row")

NASTY = ["E[beta[R&D_spend]]", "share 50% of $income$", 'a "quoted", comma', "x#1 {a} ~b^"]
TINY = dict(hidden_dims=(8,), max_epochs=8, cv=2, random_state=0)


@pytest.fixture(scope="module")
def summary():
    k = len(NASTY)
    return InferenceResults(NASTY, np.linspace(-1, 1, k) / 3, np.eye(k) * 0.01).summary()


@pytest.fixture(scope="module")
def data():
    return make_linear_confounded(300, random_state=0)


def test_latex_escapes_special_characters(summary):
    pytest.importorskip("jinja2")  # pandas' LaTeX writer needs it
    tex = summary.to_latex()
    assert tex == summary.as_latex()
    for raw, escaped in [("R&D", r"R\&D"), ("50%", r"50\%"), ("$income$", r"\$income\$"),
                         ("_spend", r"\_spend"), ("x#1", r"x\#1")]:
        assert escaped in tex and raw not in tex.replace(escaped, "")
    rows = [line for line in tex.splitlines() if line.endswith(r"\\")]
    # every row has exactly the 6 column separators: no & of a name leaks out unescaped
    for line in rows:
        assert len(re.findall(r"(?<!\\)&", line)) == 6
    # no unescaped %, $, # or _ in the table (a % would comment out the rest of the line)
    body = "\n".join(rows)
    assert not re.search(r"(?<!\\)[%$#]", body)
    assert not re.search(r"(?<!\\)_", body)


def test_csv_round_trips_through_read_csv(summary):
    text = summary.to_csv()
    assert text == summary.as_csv() and text.startswith("target,point_estimate")
    back = pd.read_csv(io.StringIO(text), index_col=0)
    assert list(back.index) == NASTY  # quotes and commas survive
    pd.testing.assert_frame_equal(back, summary.to_frame(), check_exact=True)


def test_html_escapes_names(summary):
    page = summary._repr_html_()
    assert "R&amp;D" in page and "&quot;quoted&quot;" in page
    tricky = InferenceResults(["<script>x</script>"], [1.0], [[0.01]]).summary()
    assert "<script>" not in tricky._repr_html_()


def test_a_named_single_treatment_labels_beta(data):
    T, Y = pd.Series(data.T, name="price"), pd.Series(data.Y, name="sales")
    est = StructuralDMLRegressor(**TINY).fit(data.X, T, Y)
    assert est.inference_.names == ["E[alpha]", "E[beta[price]]"]
    assert est.inference("beta").names == ["E[beta[price]]"]  # "beta" still selects it
    assert "sales" in str(est.summary())
    unnamed = StructuralDMLRegressor(**TINY).fit(data.X, data.T, data.Y)
    assert unnamed.inference_.names == ["E[alpha]", "E[beta]"]  # "T" names nothing
    with pytest.raises(KeyError, match="E\\[beta\\[price\\]\\]"):
        unnamed.inference_["E[beta[price]]"]


def test_names_survive_pack_targets(data):
    T, Y = pd.Series(data.T, name="price"), pd.Series(data.Y, name="sales")
    packed = pack_targets(T, Y)
    est = StructuralDMLRegressor(**TINY).fit(data.X, packed)
    assert est.treatment_names_ == ["price"] and est.outcome_name_ == "sales"
    assert "E[beta[price]]" in est.inference_.names
    ads = data.X[:, 1] + np.random.default_rng(0).normal(size=data.X.shape[0])  # not X's copy
    both = pack_targets(pd.DataFrame({"price": data.T, "ads": ads}), Y)
    assert StructuralDMLRegressor(**TINY).fit(data.X, both).treatment_names_ == ["price", "ads"]
    # the names ride through a search's row splits into every fit, and the refit
    with sklearn.config_context(enable_metadata_routing=False):
        search = GridSearchCV(StructuralDMLRegressor(hidden_dims=(4,), max_epochs=3, cv=1),
                              {"weight_decay": [1e-2]}, cv=2, error_score="raise")
        search.fit(data.X, packed)
    assert search.best_estimator_.outcome_name_ == "sales"


def test_a_named_treatments_beta_label_selects_it():
    import pandas as pd

    from sklearn_dml import StructuralDMLRegressor
    from sklearn_dml.datasets import make_linear_confounded

    d = make_linear_confounded(300, random_state=0)
    est = StructuralDMLRegressor(hidden_dims=(4,), max_epochs=3, random_state=0).fit(
        d.X, pd.Series(d.T.ravel(), name="price"), d.Y)
    assert "E[beta[price]]" in est.inference_.names
    by_label, by_name = est.inference("beta[price]"), est.inference("beta")
    assert by_label.names == by_name.names == ["E[beta[price]]"]
    assert by_label.estimate[0] == by_name.estimate[0]
