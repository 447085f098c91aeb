"""Part C: 다층 퍼셉트론(MLP)의 순전파 (강의 17, 식 (6)-(12), 그림 10-7).
Part C: the forward pass of a multi-layer perceptron (lecture 17, eqs. (6)-(12), Fig. 10-7).

이 모듈의 기호 / Symbols used in this module:
- N: 샘플 수 / number of samples; D: 입력 수 / number of inputs
- 층 l의 W는 모양 (n_out, n_in), b는 모양 (n_out,)입니다 (z = W x + b와 같습니다)
  / layer l has W of shape (n_out, n_in) and b of shape (n_out,), as in z = W x + b
- params: (W, b) 튜플의 리스트, 첫 번째 층이 맨 앞 / a list of (W, b) tuples, first layer first
- activations: 층마다 하나씩인 활성화 함수 이름의 리스트 ("identity", "sigmoid", "tanh", "relu",
  "leaky_relu", 출력층에는 "softmax"도 됩니다)
  / a list of names, one per layer ("identity", "sigmoid", "tanh", "relu",
  "leaky_relu", or "softmax" for the output layer)
"""
import numpy as np

from activations import ACTIVATIONS, softmax


def init_params(layer_sizes, seed=0):
    """He 초기화 (미리 작성됨): 모양 (n_out, n_in)인 W ~ N(0, 2 / n_in), b = zeros(n_out)입니다.
    He initialisation (given): W ~ N(0, 2 / n_in) of shape (n_out, n_in), b = zeros(n_out).

    - layer_sizes: [D, n_1, ..., n_L]
    Returns params, a list of L (W, b) tuples. The draw order is fixed (layer by layer, W only),
    so the same seed always gives the same network.
    """
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
        b = np.zeros(n_out)
        params.append((W, b))
    return params


def activate(Z, name):
    """이름이 `name`인 활성화 함수를 Z에 적용합니다 (미리 작성됨).
    Apply the activation called `name` to Z (given): softmax over the last axis, or an
    elementwise function from ACTIVATIONS. An unknown name raises ValueError."""
    if name == "softmax":
        return softmax(Z)
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; use one of {sorted(ACTIVATIONS) + ['softmax']}")
    return ACTIVATIONS[name][0](Z)


def dense_forward(X, W, b):
    """완전 연결층(dense layer)의 활성화 전 값을 배치 전체에 대해 구합니다: Z = X W^T + b (강의의 z = W x + b).
    A dense layer's pre-activation for a batch: Z = X W^T + b (the lecture's z = W x + b).

    - X: shape (N, n_in); W: shape (n_out, n_in); b: shape (n_out,)
    Returns Z of shape (N, n_out).
    """
    # BEGIN SOLUTION hint: X의 모든 행 x에 강의의 z = W x + b를 한꺼번에 계산합니다. W는 (n_out, n_in)이고 유닛 하나가 한 행이므로 전치에 주의하세요. 결과는 (N, n_out)입니다 / the lecture's z = W x + b for every row x of X at once; W is (n_out, n_in), one unit per row, so mind the transpose; the result is (N, n_out)
    return np.asarray(X, dtype=float) @ np.asarray(W, dtype=float).T + b
    # END SOLUTION


def mlp_forward(X, params, activations):
    """순전파, 편향을 더한 식 (6)-(12): A^0 = X; Z^l = A^{l-1} W_l^T + b_l; A^l = phi^l(Z^l).
    Forward pass, eqs. (6)-(12) with biases: A^0 = X; Z^l = A^{l-1} W_l^T + b_l; A^l = phi^l(Z^l).

    - X: shape (N, D)
    - params: L tuples (W_l, b_l); activations: L names
    Returns (out, cache): out = A^L of shape (N, n_L); cache a list of L tuples
    (A_prev, Z) = (A^{l-1}, Z^l), where A_prev is X for the first layer.
    """
    if len(params) != len(activations):
        raise ValueError(f"{len(params)} layers but {len(activations)} activation names")
    # BEGIN SOLUTION hint: 편향을 더한 식 (6)-(12)를 층마다 차례로 계산합니다: 활성화 전 값을 구하고, 역전파에 쓸 (입력, 활성화 전 값) 쌍을 cache에 넣고, 활성화 값을 구합니다. 활성화 값이 다음 층의 입력입니다 / eqs. (6)-(12) with biases, layer after layer: the pre-activation, its (input, pre-activation) pair into the cache for backprop, then the activation, which is the next layer's input
    A = np.asarray(X, dtype=float)
    cache = []
    for (W, b), name in zip(params, activations):
        Z = dense_forward(A, W, b)
        cache.append((A, Z))
        A = activate(Z, name)
    return A, cache
    # END SOLUTION


def predict(X, params, activations):
    """순전파 결과로 클래스 레이블을 고릅니다 (그림 10-9: 확률이 가장 높은 클래스).
    Class labels from the forward pass (Fig. 10-9: pick the most probable class).

    Returns labels of shape (N,) with an integer dtype: the argmax over the outputs, or
    out[:, 0] >= 0.5 (as 0 or 1) when the network has a single output unit.
    """
    # BEGIN SOLUTION hint: 그림 10-9: 각 행에서 확률이 가장 높은 클래스입니다. 출력 유닛이 하나면 그 값은 확률이고, 0.5를 기준으로 나눕니다 (0.5이면 1). 레이블은 정수입니다 / Fig. 10-9: the most probable class of each row; a single output unit is a probability, thresholded at 0.5 (0.5 itself gives 1); labels are ints
    out, _ = mlp_forward(X, params, activations)
    if out.shape[1] == 1:
        return (out[:, 0] >= 0.5).astype(int)
    return np.argmax(out, axis=1)
    # END SOLUTION
