"""Values across the sandbox wall: what the parent writes, the runner reads back exactly, and
what the runner writes, the parent reads without trusting it (no pickles, no odd files)."""
import json
import pickle

import numpy as np
import pytest

from autograder import values
from autograder.sandbox import runner


def roundtrip_result(tmp_path, value):
    runner.save_tree(value, str(tmp_path))
    node, _ = values.read_result(tmp_path, 1 << 20)
    return node


def test_arguments_reach_the_runner_unchanged(tmp_path):
    args = (np.arange(6.0).reshape(2, 3), [(np.ones((2, 2)), np.zeros(2))], ["tanh", "softmax"], 0.5, 3, None, True,
            values.Callable("coupled", (np.array([1.0]), np.array([2.0]))))
    values.write_call(tmp_path, {"module": "m", "attr": "f"}, args, {"lr": 0.1}, needs=["m"])
    call = json.loads((tmp_path / "call.json").read_text())
    got = runner.load_tree(call["args"], str(tmp_path), None)
    assert np.array_equal(got[0], args[0]) and got[0].dtype == np.float64
    assert isinstance(got[1], list) and isinstance(got[1][0], tuple) and np.array_equal(got[1][0][0], np.ones((2, 2)))
    assert got[2:7] == (["tanh", "softmax"], 0.5, 3, None, True)
    assert got[7](np.array([0.5])) == pytest.approx(args[7](np.array([0.5])))
    assert runner.load_tree(call["kwargs"], str(tmp_path), None) == {"lr": 0.1}


def test_results_keep_their_form(tmp_path):
    node = roundtrip_result(tmp_path, (np.ones((2, 3)), 1.5, [1, 2], np.float64(2.0)))
    assert node.tag == "tuple" and [n.tag for n in node.items] == ["nd", "float", "list", "npscalar"]
    assert node.items[2].items[1].data == 2


def test_a_long_loss_curve_is_one_file_and_reads_back_as_a_list(tmp_path):
    losses = [float(i) / 7 for i in range(1000)]
    node = roundtrip_result(tmp_path, losses)
    assert len(list(tmp_path.iterdir())) == 1
    assert node.tag == "list" and [float(n.data) for n in node.items] == losses


def test_object_arrays_and_strange_objects_are_refused(tmp_path):
    class Liar:
        def __eq__(self, other):
            return True
    node = roundtrip_result(tmp_path / "a", np.array([Liar()], dtype=object)) if (tmp_path / "a").mkdir() is None else None
    assert node.tag == "object"
    (tmp_path / "b").mkdir()
    assert roundtrip_result(tmp_path / "b", Liar()).tag == "object"


def test_an_ndarray_subclass_comes_back_as_a_plain_array(tmp_path):
    class Always(np.ndarray):
        def __eq__(self, other):
            return True
    node = roundtrip_result(tmp_path, np.zeros(3).view(Always))
    assert node.tag == "nd" and type(node.data) is np.ndarray


def test_a_pickle_in_a_result_file_is_not_loaded(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(np.array([object()], dtype=object))
    np.save(tmp_path / "r.nd.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    node, _ = values.read_result(tmp_path, 1 << 20)
    assert node.tag == "object" and not marker.exists() and payload


def test_files_with_other_names_are_ignored_and_size_is_capped(tmp_path):
    np.save(tmp_path / "r.nd.npy", np.zeros(3))
    np.save(tmp_path / "expected.npy", np.ones(3))
    (tmp_path / "r.nd.npy.json").write_text("{}")
    node, _ = values.read_result(tmp_path, 1 << 20)
    assert node.tag == "nd" and np.array_equal(node.data, np.zeros(3))
    np.save(tmp_path / "r.nd.npy", np.zeros(10_000))
    with pytest.raises(ValueError, match="larger than"):
        values.read_result(tmp_path, 1000)


def test_a_truncated_length_is_refused(tmp_path):
    np.save(tmp_path / "r.list.npy", np.asarray(10 ** 9))
    node, _ = values.read_result(tmp_path, 1 << 20)
    assert node.tag == "object"
