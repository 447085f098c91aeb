"""Part B: 활성화 함수와 그 도함수 (강의 17, 식 (13)-(18), 그림 10-8).
Part B: activation functions and their derivatives (lecture 17, eqs. (13)-(18), Fig. 10-8).

모든 도함수는 활성화 전 값 z를 받습니다. 활성화 결과 a = phi(z)를 받지 않습니다.
softmax와 softmax_jacobian은 마지막 축(K개 클래스)을 따라 계산하고, 나머지 함수는 모두
어떤 모양의 배열 z에도 원소마다 적용합니다.

Every derivative takes the pre-activation z, never the activation's output a = phi(z).
All functions are elementwise on an array z of any shape, except softmax and
softmax_jacobian, which work over the last axis (K classes).
"""
import numpy as np


def identity(z):
    """항등 활성화 함수 phi(z) = z입니다 (미리 작성됨). z와 같은 모양의 float64 복사본을 돌려줍니다.
    Identity activation phi(z) = z (given). Returns a float64 copy, same shape as z.
    """
    return np.array(z, dtype=float)


def identity_grad(z):
    """항등 함수의 도함수 phi'(z) = 1입니다 (미리 작성됨). z와 같은 모양입니다.
    phi'(z) = 1 for the identity (given). Same shape as z.
    """
    return np.ones_like(np.asarray(z, dtype=float))


def sigmoid(z):
    """로지스틱 시그모이드, 식 (13): sigma(z) = 1 / (1 + e^-z)입니다.
    Logistic sigmoid, eq. (13): sigma(z) = 1 / (1 + e^-z).

    Must stay finite and warning-free for |z| up to 1e3: sigmoid(-1000) is 0.0.
    Returns a float64 array of the same shape as z.
    """
    raise NotImplementedError('sigmoid: 식 (13)이지만 z = -1000에서 e^-z가 오버플로됩니다. e = e^-|z| (1을 넘지 않음)로 두면 z >= 0일 때 1 / (1 + e), z < 0일 때 e / (1 + e)입니다. np.where는 두 식을 모든 원소에서 계산하므로, 두 식 모두 어떤 z에서도 안전해야 합니다 / eq. (13), but e^-z overflows at z = -1000; with e = e^-|z| (never above 1) it is 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0; np.where computes both branches everywhere, so each branch must be safe for every z')


def sigmoid_grad(z):
    """시그모이드의 도함수, 식 (14): sigma'(z) = sigma(z) (1 - sigma(z))를 z에서 계산합니다.
    Derivative of the sigmoid, eq. (14): sigma'(z) = sigma(z) (1 - sigma(z)), taken at z.
    """
    raise NotImplementedError('sigmoid_grad: 식 (14)를 활성화 전 값 z에서 계산합니다. sigma(z)를 먼저 구하세요. 함정은 z를 출력 a처럼 다루는 것입니다 / eq. (14) at the pre-activation z: take sigma(z) first; the trap is treating z as if it were the output a')


def tanh(z):
    """쌍곡탄젠트, 식 (15): (e^z - e^-z) / (e^z + e^-z)입니다. z와 같은 모양입니다.
    Hyperbolic tangent, eq. (15): (e^z - e^-z) / (e^z + e^-z). Same shape as z.
    """
    raise NotImplementedError('tanh: 식 (15)를 적힌 그대로 계산하면 |z| = 1000에서 inf / inf가 됩니다. 안정적인 방법을 쓰세요 (NumPy에 하나 있습니다. 여러분의 안정적인 시그모이드로 tanh(z) = 2 sigma(2z) - 1을 계산해도 됩니다) / eq. (15); the formula as written is inf / inf at |z| = 1000, so use a stable form (NumPy has one; tanh(z) = 2 sigma(2z) - 1 with your stable sigmoid is another)')


def tanh_grad(z):
    """tanh의 도함수: tanh'(z) = 1 - tanh(z)^2를 z에서 계산합니다.
    Derivative of tanh: tanh'(z) = 1 - tanh(z)^2, taken at z.

    슬라이드의 식 (16)에는 phi'(z) = 2 phi(2z) - 1이라고 적혀 있지만, 이것은 tanh의 도함수가
    아닙니다 (z = 0에서 -1이 나오지만, tanh는 그곳에서 기울기 1로 증가합니다). 이 식은 tanh와
    시그모이드 사이의 항등식 tanh(z) = 2 sigma(2z) - 1에서 나온 것입니다 (Geron, 10장).

    The slide's eq. (16) reads phi'(z) = 2 phi(2z) - 1. That is not the derivative of tanh (at
    z = 0 it gives -1, but tanh rises there with slope 1); it echoes the identity
    tanh(z) = 2 sigma(2z) - 1 between tanh and the sigmoid (Geron, ch. 10).
    """
    raise NotImplementedError("tanh_grad: 식 (15)를 미분하고, 결과를 tanh(z)로 나타내세요. 슬라이드의 식 (16), phi'(z) = 2 phi(2z) - 1은 도함수가 아닙니다 (z = 0에서 -1이 나오지만, tanh는 그곳에서 기울기 1로 증가합니다) / differentiate eq. (15) and write the result with tanh(z) itself; the slide's eq. (16), phi'(z) = 2 phi(2z) - 1, is not the derivative (at z = 0 it gives -1, but tanh rises with slope 1)")


def relu(z):
    """ReLU, 식 (17): max(0, z)입니다. z와 같은 모양입니다.
    Rectified linear unit, eq. (17): max(0, z). Same shape as z.
    """
    raise NotImplementedError('relu: 식 (17)을 원소마다 적용합니다. 결과는 z와 같은 모양의 float64입니다 / eq. (17), elementwise, float64 of the same shape')


def relu_grad(z):
    """ReLU의 도함수, 식 (18): z <= 0이면 (z = 0 포함) 0.0, 그 밖에는 1.0입니다.
    Derivative of ReLU, eq. (18): 0.0 where z <= 0 (z = 0 included), 1.0 elsewhere.
    """
    raise NotImplementedError('relu_grad: 식 (18). 이 실습에서는 z = 0일 때 기울기가 0입니다. 결과는 float64입니다 / eq. (18); the tie: the slope at z = 0 is 0 in this lab, and the result is float64')


def leaky_relu(z, alpha=0.01):
    """Leaky ReLU (그림 11-2): z > 0이면 z, 그 밖에는 alpha * z입니다. z와 같은 모양입니다.
    Leaky ReLU (Fig. 11-2): z where z > 0, alpha * z elsewhere. Same shape as z.
    """
    raise NotImplementedError('leaky_relu: 그림 11-2: z > 0이면 z 그대로, 그 밖에는 기울기가 alpha인 직선입니다. 고정된 0.01이 아니라 alpha 인자를 쓰세요 / Fig. 11-2: z itself for z > 0, a line of slope alpha elsewhere; use the alpha argument, not a fixed 0.01')


def leaky_relu_grad(z, alpha=0.01):
    """Leaky ReLU의 도함수: z > 0이면 1.0, 그 밖에는 (z = 0 포함) alpha입니다.
    Derivative of leaky ReLU: 1.0 where z > 0, alpha elsewhere (z = 0 included).
    """
    raise NotImplementedError('leaky_relu_grad: leaky_relu의 기울기: z > 0이면 1, z <= 0이면 (z = 0 포함) alpha입니다. 함정은 alpha 대신 기울기 0을 쓰는 것입니다 / the slope of leaky_relu: 1 for z > 0, alpha for z <= 0 (z = 0 included); the trap is a slope of 0 instead of alpha')


def softmax(Z):
    """마지막 축을 따라 계산하는 소프트맥스 (그림 10-9): s_k = e^{z_k} / sum_j e^{z_j}입니다.
    Softmax over the last axis (Fig. 10-9): s_k = e^{z_k} / sum_j e^{z_j}.

    softmax([1, 2, 3])은 약 [0.090, 0.245, 0.665]입니다. 손글씨 노트의 [1/6, 2/6, 3/6]이 아닙니다:
    z 자체가 아니라 지수를 정규화합니다. 각 행의 최댓값을 먼저 빼면 |z|가 1e3까지 커져도 e^z가
    유한하고, 결과는 바뀌지 않습니다.

    - Z: shape (K,) or (N, K)
    Returns an array of the same shape whose rows sum to 1. softmax([1, 2, 3]) is about
    [0.090, 0.245, 0.665], not [1/6, 2/6, 3/6] as in the handwritten note: the exponentials
    are normalised, not z itself. Subtracting the row maximum first keeps e^z finite for
    |z| up to 1e3 and does not change the result.
    """
    raise NotImplementedError('softmax: 그림 10-9를 마지막 축을 따라 한 행씩 적용합니다. e^1000은 오버플로됩니다. 한 행에서 그 행의 최댓값을 빼도 결과는 같습니다. 나눌 때 행 축을 남겨 두어야 브로드캐스팅이 맞습니다 / Fig. 10-9 over the last axis, row by row; e^1000 overflows, and shifting a row by its maximum changes nothing; keep the row axis when you divide, so that it broadcasts')


def softmax_jacobian(z):
    """소프트맥스의 야코비 행렬: J[i, j] = d s_i / d z_j = s_i (delta_ij - s_j)입니다.
    Jacobian of softmax: J[i, j] = d s_i / d z_j = s_i (delta_ij - s_j).

    - z: shape (K,) gives J of shape (K, K); shape (N, K) gives (N, K, K), one Jacobian per row.
    """
    raise NotImplementedError('softmax_jacobian: s가 z의 소프트맥스일 때 d s_i / d z_j = s_i (delta_ij - s_j)입니다: 대각 부분에서 외적을 뺀 것입니다. 배치라면 행마다 (K, K) 행렬이 하나씩입니다 / d s_i / d z_j = s_i (delta_ij - s_j), s being the softmax of z: a diagonal part minus an outer product; for a batch, one (K, K) matrix per row')


# 이름 -> (함수, 도함수): 원소별 활성화 함수들 / name -> (function, derivative) for the elementwise activations
ACTIVATIONS = {
    "identity": (identity, identity_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
}
