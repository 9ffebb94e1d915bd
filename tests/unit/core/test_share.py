"""cnnviz.core.share: a page's settings to URL parameters and back; a malformed link never raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core.share import MISSING, Param, ParamTable, ShareError, choice, flag, integer, number, query_string

TABLE = ParamTable((
    choice("opt", "p_opt", ("adam", "sgd")),
    choice("lr", "p_lr", (0.001, 0.01, 1.0), 0.001, codes={0.001: "0.001", 0.01: "0.01", 1.0: "1"}),
    choice("pst", "p_pstride", ("= size", 1, 2), codes={"= size": "size"}),
    integer("epochs", "p_epochs", 1, 30, 10),
    number("drop", "p_drop", 0.0, 0.7, 0.3, step=0.05),
    number("bias", "p_bias", -10.0, 10.0, 0.0),
    flag("bn", "p_bn", False),
))


def test_defaults_write_an_empty_link_and_an_empty_link_reads_the_defaults():
    assert TABLE.encode(TABLE.defaults()) == {}
    assert TABLE.decode({}) == (TABLE.defaults(), [])


def test_changed_settings_round_trip():
    values = {**TABLE.defaults(), "p_opt": "sgd", "p_lr": 1.0, "p_pstride": 2, "p_epochs": 12, "p_drop": 0.25,
              "p_bias": -1.5, "p_bn": True}
    query = TABLE.encode(values)
    assert query == {"opt": "sgd", "lr": "1", "pst": "2", "epochs": "12", "drop": "0.25", "bias": "-1.5", "bn": "1"}
    assert TABLE.decode(query) == (values, [])
    assert query_string(query) == "opt=sgd&lr=1&pst=2&epochs=12&drop=0.25&bias=-1.5&bn=1"


def test_a_slider_float_is_written_as_its_stop():
    # 0.05 + 0.05 + 0.05 == 0.15000000000000002 in floating point: the link says 0.15.
    assert TABLE.encode({"p_drop": 0.05 + 0.05 + 0.05}) == {"drop": "0.15"}


@pytest.mark.parametrize(("query", "ignored"), [
    ({"epochs": "31"}, ["epochs"]),             # out of range
    ({"epochs": "1e3"}, ["epochs"]),            # not a whole number
    ({"drop": "0.33"}, ["drop"]),               # between the slider's stops
    ({"drop": "nan"}, ["drop"]),
    ({"bias": "inf"}, ["bias"]),
    ({"opt": "Adam"}, ["opt"]),                 # not an option (case matters)
    ({"pst": "= size"}, ["pst"]),               # the option's code is "size"
    ({"bn": "maybe"}, ["bn"]),
    ({"epochs": ""}, ["epochs"]),               # truncated link
    ({"unknown": "1", "epochs": "5"}, ["unknown"]),
    ({"epochs": ["3", "x"]}, ["epochs"]),        # the last of repeated values counts
])
def test_what_cannot_be_read_takes_the_default_and_is_named(query, ignored):
    values, names = TABLE.decode(query)
    assert names == ignored
    for param in TABLE.params:
        if param.name in ignored:
            assert values[param.key] == param.default
    if "unknown" in query:
        assert values["p_epochs"] == 5


def test_repeated_values_read_the_last_one():
    assert TABLE.decode({"epochs": ["3", "7"]})[0]["p_epochs"] == 7


def test_unwritable_values_are_left_out_of_the_link():
    assert TABLE.encode({"p_opt": "adamw", "p_epochs": True, "p_bn": "yes", "p_drop": MISSING}) == {}


def test_flags_read_words_too():
    assert TABLE.decode({"bn": "true"})[0]["p_bn"] is True
    assert TABLE.decode({"bn": "OFF"})[0]["p_bn"] is False


def test_current_reads_session_state_and_a_custom_reader():
    table = ParamTable((integer("a", "key_a", 0, 9, 0),
                        Param("b", "key_b", 0, int, str, current=lambda state: state.get("box", {}).get("b", MISSING))))
    assert table.current({"key_a": 3, "box": {"b": 4}}) == {"key_a": 3, "key_b": 4}
    assert table.current({}) == {}


def test_a_table_refuses_two_params_with_one_name_or_key():
    with pytest.raises(ShareError, match="name"):
        ParamTable((flag("x", "a", False), flag("x", "b", False)))
    with pytest.raises(ShareError, match="key"):
        ParamTable((flag("x", "a", False), flag("y", "a", False)))
    with pytest.raises(ShareError):
        choice("x", "a", ("1", 1))  # two options written the same way


texts = st.text(max_size=30)
values = st.one_of(texts, st.lists(texts, max_size=3), st.none(), st.integers(), st.floats(), st.binary(max_size=8))
names = st.one_of(st.sampled_from([param.name for param in TABLE.params]), texts, st.integers())


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.dictionaries(names, values, max_size=8), values))
def test_malformed_links_never_raise(query):
    decoded, ignored = TABLE.decode(query)
    assert set(decoded) == set(TABLE.defaults())
    assert ignored == sorted(set(ignored))
    # Whatever was read can be written back and reads the same.
    assert TABLE.decode(TABLE.encode(decoded))[0] == decoded


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([param.name for param in TABLE.params]), texts, max_size=7))
def test_read_values_round_trip(query):
    decoded, _ = TABLE.decode(query)
    assert TABLE.decode(TABLE.encode(decoded)) == (decoded, [])
