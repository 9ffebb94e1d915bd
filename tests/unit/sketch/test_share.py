"""cnnviz.sketch.share: the Sketch page's model choice as the link parameter ``model``."""

from __future__ import annotations

import pytest

from cnnviz.sketch.share import SKETCH_TABLE


@pytest.mark.parametrize(("choice", "query"), [
    ("file:default_mnist", {}),
    ("file:default_fashion_mnist", {"model": "default_fashion_mnist"}),
    ("session", {"model": "session"}),
])
def test_model_choices_round_trip(choice, query):
    assert SKETCH_TABLE.encode({"sketch_model": choice}) == query
    assert SKETCH_TABLE.decode(query) == ({"sketch_model": choice}, [])


@pytest.mark.parametrize("text", ["../etc/passwd", "Default", "", "a b", "x" * 200])
def test_a_name_that_is_no_model_file_is_ignored(text):
    assert SKETCH_TABLE.decode({"model": text}) == ({"sketch_model": "file:default_mnist"}, ["model"])


def test_a_file_name_with_its_extension_is_read():
    assert SKETCH_TABLE.decode({"model": "my_cnn.keras"})[0] == {"sketch_model": "file:my_cnn"}
