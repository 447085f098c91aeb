"""The example submissions that `python -m autograder grade` grades when given none.

Each is built from the reference or the skeleton (never stored twice) and promises its
exact score per question; tests/test_examples.py holds the engine to that promise. Why each
score is what it is, from the points of grading.py:
- reference: everything (100); skeleton: nothing (0: the given identity, init_params and
  ACTIVATIONS earn no points);
- sigmoid_grad_on_output: all of sigmoid_grad's cases fail: activations loses its 3 points;
- tanh_grad_eq16: the slide's eq. (16) as the derivative: activations loses 3;
- relu_grad_one_at_zero: only the cases with an exact 0 in z fail (5 of relu_grad's 11: the
  public one, z = [0], the one with ±1e3 and 0, the integer one, the float32 one), so
  3 x 5/11 = 1.36 lost;
- dense_backward_dw_transposed: dW is wrong in every dense_backward case, dA_prev and db are
  right; each case earns the share of its right outputs (2 of 3), so 6 x 1/3 = 2 lost;
- mlp_backward_missing_1_over_n: the 1/N is missing in the cross-entropy branch only: the 20
  cross-entropy cases of mlp_backward's 40 fail, so 10 x 20/40 = 5 lost;
- train_loss_after_update: the 8 exactly compared runs fail, the 2 judged by outcome
  (XOR still learned) pass: training loses 6 x 8/10 = 4.8;
- syntax_error_in_backprop: backprop.py does not import: backprop and training get 0;
- missing_mlp: mlp.py is absent; backprop imports mlp, so forward, backprop and training get 0.
"""
import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent
FULL = {"tlu": 15, "activations": 25, "forward": 20, "backprop": 30, "training": 10}


def load_bank():
    spec = importlib.util.spec_from_file_location("_lab17_mistakes", HERE / "mistakes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def promise(**changes):
    return {**FULL, **changes}


MISTAKE_EXAMPLES = {
    "sigmoid_grad_on_output": promise(activations=22),
    "tanh_grad_eq16": promise(activations=22),
    "relu_grad_one_at_zero": promise(activations=23.64),
    "dense_backward_dw_transposed": promise(backprop=28),
    "mlp_backward_missing_1_over_n": promise(backprop=25),
    "train_loss_after_update": promise(training=5.2),
}


def examples(reference, skeleton):
    """[(name, {module: text}, {question: promised points})]; reference and skeleton are
    {module: text} of the marker-stripped reference and of the student skeleton."""
    bank = load_bank()
    mistakes = {m.name: m for m in bank.MISTAKES}
    result = [("reference", dict(reference), dict(FULL)),
              ("skeleton", dict(skeleton), {q: 0 for q in FULL})]
    for name, promised in MISTAKE_EXAMPLES.items():
        result.append((name, bank.apply(mistakes[name].edits, reference), promised))
    broken = dict(reference)
    broken["backprop"] = broken["backprop"].replace("def one_hot(y, num_classes):", "def one_hot(y, num_classes)", 1)
    result.append(("syntax_error_in_backprop", broken, promise(backprop=0, training=0)))
    missing = {k: v for k, v in reference.items() if k != "mlp"}
    result.append(("missing_mlp", missing, promise(forward=0, backprop=0, training=0)))
    return result
