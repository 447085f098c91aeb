"""Part A: 임계 논리 유닛(TLU)과 퍼셉트론 (강의 17, 식 (1)과 계단 함수).
Part A: the threshold logic unit and the perceptron (lecture 17, eq. (1) and the step functions).

이 모듈의 기호 / Symbols used in this module:
- N: 배치의 샘플 수 / number of samples in a batch
- D: 유닛 하나의 입력 수 (특성 수) / number of inputs of a unit (features)
- n_out: 퍼셉트론 층의 유닛 수 / number of units in a perceptron layer
"""
import numpy as np


def heaviside(z):
    """헤비사이드 계단 함수: z < 0이면 0.0, 그 밖에는 1.0입니다 (그래서 heaviside(0) = 1).
    Heaviside step: 0.0 where z < 0, 1.0 otherwise (so heaviside(0) = 1).

    Lecture: "Common step functions used in Perceptrons".
    - z: array of any shape (or a scalar)
    Returns a float64 array of the same shape as z.
    """
    raise NotImplementedError("heaviside: 슬라이드의 헤비사이드 계단 함수를 원소마다 적용합니다. 함정은 z = 0일 때입니다: heaviside(0)은 1이고, 결과는 float64입니다 / the slide's heaviside step, elementwise; the trap is the tie: heaviside(0) is 1, and the result is float64")


def sign(z):
    """부호 계단 함수: z < 0이면 -1.0, z == 0이면 0.0, z > 0이면 +1.0입니다.
    Sign step: -1.0 where z < 0, 0.0 where z == 0, +1.0 where z > 0.

    Lecture: "Common step functions used in Perceptrons".
    - z: array of any shape (or a scalar)
    Returns a float64 array of the same shape as z.
    """
    raise NotImplementedError('sign: 경우가 세 가지입니다. z = 0이면 0이 나옵니다: sign(0)은 0.0입니다. 정수가 아니라 float64로 돌려주세요 / three cases, and the tie gives 0: sign(0) is 0.0; return float64, not ints')


STEPS = {"heaviside": heaviside, "sign": sign}


def get_step(name):
    """이름("heaviside" 또는 "sign")으로 계단 함수를 찾습니다.
    Look up a step function by name ("heaviside" or "sign").
    """
    if name not in STEPS:
        raise ValueError(f"unknown step {name!r}; use one of {sorted(STEPS)}")
    return STEPS[name]


def tlu(X, w, b=0.0, step="heaviside"):
    """임계 논리 유닛(TLU): 편향을 더한 식 (1), h(x) = step(w^T x + b)입니다.
    A threshold logic unit, eq. (1) with a bias: h(x) = step(w^T x + b).

    - X: inputs, shape (N, D), or a single input x of shape (D,)
    - w: weights, shape (D,)
    - b: bias, a scalar
    - step: "heaviside" or "sign"
    Returns step(X @ w + b): shape (N,) for X (N, D), a 0-d array for x (D,).
    """
    raise NotImplementedError('tlu: X의 모든 행에 한꺼번에 식 (1)을 계산해 편향을 더하고, `step`이 가리키는 계단 함수를 적용합니다 (STEPS가 이름을 함수에 연결합니다). 모양이 (D,)인 입력 x 하나는 숫자 하나가 됩니다 / eq. (1) plus the bias for every row of X at once, then the step named by `step` (STEPS maps names to functions); one input x of shape (D,) gives one number')


def perceptron_layer(X, W, b, step="heaviside"):
    """같은 입력을 함께 받는 TLU n_out개로 된 층: step(X W^T + b)입니다.
    A layer of n_out TLUs sharing the same inputs: step(X W^T + b).

    The lecture's example has 3 outputs and 2 inputs: W (3, 2), b (3,).
    - X: inputs, shape (N, D)
    - W: weights, shape (n_out, D), one row per unit
    - b: biases, shape (n_out,)
    Returns an array of shape (N, n_out).
    """
    raise NotImplementedError("perceptron_layer: 모든 유닛에 한꺼번에 식 (1)을 적용합니다. W는 유닛 하나가 한 행입니다 (슬라이드의 output 1, 2, 3). 그러니 어느 쪽을 전치할지 주의하세요. 결과의 모양은 (N, n_out)입니다 / eq. (1) for every unit at once: W holds one unit per row (the slide's output 1, 2, 3), so mind which factor is transposed; the result is (N, n_out)")


def perceptron_train(X, y, lr=1.0, epochs=10):
    """heaviside 유닛으로 학습하는 Rosenblatt의 퍼셉트론 학습 규칙입니다.
    Rosenblatt's perceptron learning rule with a heaviside unit.

    Start from w = zeros(D), b = 0.0. Every epoch visits the samples in the given order:
    y_hat = heaviside(x . w + b); w += lr (y - y_hat) x; b += lr (y - y_hat).
    - X: inputs, shape (N, D)
    - y: targets in {0, 1}, shape (N,)
    Returns (w, b, errors): w (D,), b a float, errors a list of `epochs` ints where errors[e]
    counts the samples of epoch e whose y_hat (before that sample's update) differs from y.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.zeros(X.shape[1])
    b = 0.0
    errors = []
    raise NotImplementedError("perceptron_train: Rosenblatt 규칙을 샘플 하나씩, 주어진 순서대로 적용합니다: 지금의 w와 b로 예측하고, 틀렸으면 그 수를 세고, 그다음에 w와 b를 고칩니다. errors에는 에포크마다 틀린 개수를 담습니다 / Rosenblatt's rule one sample at a time, in order: predict with the current w and b, count the mistake, then update; errors holds the number of mistakes of each epoch")
    return w, float(b), errors
