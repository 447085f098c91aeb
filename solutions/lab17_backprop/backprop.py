"""Part D와 E: 손실 함수, 역전파, 수치 기울기, 학습 (강의 17).
Parts D and E: losses, backpropagation, numerical gradients and training (lecture 17).

이 모듈의 기호 / Symbols used in this module:
- N: 샘플 수 / number of samples; K: 출력(클래스)의 수 / number of outputs (classes)
- params, activations, cache: mlp.py와 같습니다 / as in mlp.py
- grads: params와 같은 모양인 (dW, db)의 리스트 / a list of (dW, db) shaped like params
"""
import numpy as np

from activations import ACTIVATIONS, softmax
from mlp import init_params, mlp_forward


def one_hot(y, num_classes):
    """원-핫 인코딩: 모양 (N,)인 레이블 y (0 이상 K 미만의 정수)를 모양 (N, K)인 float 배열로 바꿉니다.
    One-hot encoding: labels y of shape (N,) (ints in [0, K)) give a float array (N, K).
    """
    # BEGIN SOLUTION hint: 모양이 (N, num_classes)인 float 0 배열에서, 행마다 그 행의 레이블 열에만 1.0을 넣습니다. 폭은 가장 큰 레이블 + 1이 아니라 num_classes입니다 / a float (N, num_classes) array of zeros with a single 1.0 per row, in the column of that row's label; the width is num_classes, not the largest label + 1
    y = np.asarray(y).astype(int)
    out = np.zeros((y.shape[0], num_classes))
    out[np.arange(y.shape[0]), y] = 1.0
    return out
    # END SOLUTION


def cross_entropy(P, y):
    """평균 교차 엔트로피: -(1/N) sum_i log P[i, y_i]이고, P는 [1e-12, 1]로 자릅니다.
    Mean cross-entropy: -(1/N) sum_i log P[i, y_i], with P clipped to [1e-12, 1].

    - P: predicted probabilities, shape (N, K); y: int labels, shape (N,)
    Returns a float. The clip keeps log finite when P[i, y_i] is 0.
    """
    # BEGIN SOLUTION hint: 각 행에서 정답 클래스의 확률만 씁니다. log가 0을 받지 않도록 [1e-12, 1]로 자르세요. 손실은 행들의 평균이고, float 하나입니다 / only each row's probability of its true class counts; clip it to [1e-12, 1] so that log never sees 0; the loss is the mean over the rows, one float
    P = np.asarray(P, dtype=float)
    y = np.asarray(y).astype(int)
    picked = np.clip(P[np.arange(P.shape[0]), y], 1e-12, 1.0)
    return float(-np.mean(np.log(picked)))
    # END SOLUTION


def mse(Y_hat, Y):
    """평균제곱오차: (1 / 2N) sum_i ||y_hat_i - y_i||^2입니다.
    Mean squared error: (1 / 2N) sum_i ||y_hat_i - y_i||^2.

    - Y_hat, Y: shape (N, K). Returns a float.
    """
    # BEGIN SOLUTION hint: 모든 제곱 오차의 합에 (1 / 2N)을 곱합니다. N은 원소의 수가 아니라 행(샘플)의 수입니다 / (1 / 2N) times the sum of all squared errors, with N the number of rows (samples), not the number of entries
    diff = np.asarray(Y_hat, dtype=float) - np.asarray(Y, dtype=float)
    return float(np.sum(diff * diff) / (2.0 * diff.shape[0]))
    # END SOLUTION


LOSSES = {"cross_entropy": cross_entropy, "mse": mse}


def dense_backward(dZ, A_prev, W):
    """완전 연결층 Z = A_prev W^T + b의 역전파입니다 (연쇄 법칙).
    Backward pass of a dense layer Z = A_prev W^T + b (chain rule).

    - dZ: dL/dZ, shape (N, n_out); A_prev: shape (N, n_in); W: shape (n_out, n_in)
    Returns (dA_prev, dW, db): dA_prev = dZ W (N, n_in); dW = dZ^T A_prev (n_out, n_in);
    db = sum of dZ over the batch (n_out,).
    """
    # BEGIN SOLUTION hint: Z = A_prev W^T + b를 거꾸로 지나는 연쇄 법칙입니다 (노트북 Part D). 각 기울기는 미분하는 대상과 모양이 같습니다 (dW는 W, db는 b, dA_prev는 A_prev와 같은 모양). db는 배치에 대해 더하기만 하고 평균을 내지 않습니다. 1/N은 이미 dZ에 들어 있습니다 / the chain rule through Z = A_prev W^T + b (notebook Part D); each gradient has the shape of what it differentiates (dW like W, db like b, dA_prev like A_prev); db sums over the batch and does not average, since the 1/N is already in dZ
    dZ = np.asarray(dZ, dtype=float)
    dA_prev = dZ @ np.asarray(W, dtype=float)
    dW = dZ.T @ np.asarray(A_prev, dtype=float)
    db = dZ.sum(axis=0)
    return dA_prev, dW, db
    # END SOLUTION


def mlp_backward(Y, params, cache, activations, loss="cross_entropy"):
    """역전파: 평균 손실의 기울기를 모든 W_l과 b_l에 대해 구합니다.
    Backpropagation: the gradient of the mean loss with respect to every W_l and b_l.

    - Y: int labels (N,) for "cross_entropy" (which needs a softmax output layer),
      or targets (N, K) for "mse" (which needs an elementwise output activation)
    - params, activations: as in mlp_forward; cache: the cache mlp_forward returned
    Output layer: "cross_entropy": dZ_L = (softmax(Z_L) - one_hot(Y)) / N;
                  "mse": dZ_L = (phi(Z_L) - Y) / N * phi'(Z_L).
    Hidden layer l: dA = dZ_{l+1} W_{l+1}; dZ_l = dA * phi_l'(Z_l) (the derivative at Z, not A).
    Returns grads: a list of L tuples (dW_l, db_l), first layer first, shaped like params.
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSSES)}")
    # BEGIN SOLUTION hint: 먼저 출력층의 delta를 구합니다 (노트북 Part D: 소프트맥스와 교차 엔트로피, 또는 mse). 그다음 마지막 층부터 내려가며 dense_backward를 쓰고, 아래층의 phi'는 A가 아니라 cache에 있는 활성화 전 값 Z에서 계산합니다 / delta of the output layer first (notebook Part D: softmax with cross-entropy, or mse), then from the last layer down: dense_backward, and phi' of the layer below at its pre-activation Z from the cache, not at A
    _, Z_L = cache[-1]
    N = Z_L.shape[0]
    if loss == "cross_entropy":
        if activations[-1] != "softmax":
            raise ValueError("cross_entropy needs a softmax output layer")
        dZ = (softmax(Z_L) - one_hot(Y, Z_L.shape[1])) / N
    else:
        phi, phi_grad = ACTIVATIONS[activations[-1]]
        dZ = (phi(Z_L) - np.asarray(Y, dtype=float)) / N * phi_grad(Z_L)
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        A_prev, _ = cache[l]
        dA_prev, dW, db = dense_backward(dZ, A_prev, params[l][0])
        grads[l] = (dW, db)
        if l > 0:
            dZ = dA_prev * ACTIVATIONS[activations[l - 1]][1](cache[l - 1][1])
    return grads
    # END SOLUTION


def numerical_gradient(f, x, h=1e-5):
    """중심 차분: x의 모든 원소에 대해 g_i = (f(x + h e_i) - f(x - h e_i)) / 2h를 계산합니다.
    Central differences: g_i = (f(x + h e_i) - f(x - h e_i)) / 2h for every entry of x.

    - f: a function of an array shaped like x, returning a scalar
    - x: array of any shape; it is left exactly as it was
    Returns g, an array shaped like x.
    """
    # BEGIN SOLUTION hint: 중심 차분을 x의 원소 하나씩 계산합니다. x는 어떤 모양이든 됩니다 (np.ndindex로 모든 인덱스를 차례로 볼 수 있습니다). float 복사본의 원소를 조금 움직였다가 다시 되돌려 놓아서, x 자체는 절대 바뀌지 않게 하세요 / central differences, one entry of x at a time, for x of any shape (np.ndindex visits every index); nudge a float copy and put each entry back, so that x itself never changes
    x = np.array(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x.copy())
        x[i] = old - h
        f_minus = f(x.copy())
        x[i] = old
        g[i] = (f_plus - f_minus) / (2.0 * h)
    return g
    # END SOLUTION


def gradient_descent_step(params, grads, lr):
    """경사 하강법 한 단계: 새 params (W - lr dW, b - lr db)를 만들고, 입력은 그대로 둡니다.
    One gradient descent step: new params (W - lr dW, b - lr db); the inputs stay unchanged.

    Returns a new list of (W, b) tuples shaped like params.
    """
    # BEGIN SOLUTION hint: 모든 W와 b를 기울기의 반대 방향으로 한 걸음 옮기고, 새 배열로 돌려줍니다. 제자리에서 (in place) 고치면 호출한 쪽의 params가 바뀝니다 / one step against the gradient for every W and b, returned as new arrays; an in-place update would change the caller's params
    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
    # END SOLUTION


def train(X, Y, layer_sizes, activations, loss="cross_entropy", lr=0.5, epochs=1000, seed=0):
    """init_params(layer_sizes, seed)에서 시작하는 전체 배치 경사 하강법입니다.
    Full-batch gradient descent from init_params(layer_sizes, seed).

    Every epoch: forward pass; record the loss of that output (before the update);
    mlp_backward; gradient_descent_step.
    Returns (params, losses): the trained params and a list of `epochs` floats.
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSSES)}")
    params = init_params(layer_sizes, seed)
    losses = []
    # BEGIN SOLUTION hint: 에포크마다 전체 배치로: 순전파, 그 출력의 손실 기록 (고치기 전), 역전파, 경사 하강 한 단계. 그 단계가 돌려준 params를 다음 에포크에 씁니다 / every epoch on the full batch: forward pass, record the loss of that output (before the update), backward pass, gradient step; keep the params the step returns
    for _ in range(epochs):
        out, cache = mlp_forward(X, params, activations)
        losses.append(LOSSES[loss](out, Y))
        grads = mlp_backward(Y, params, cache, activations, loss)
        params = gradient_descent_step(params, grads, lr)
    # END SOLUTION
    return params, losses
