"""course_utils.checks: messages students can act on, and numeric gradients that are right."""

import numpy as np
import pytest
import torch

from course_utils import checks


def test_check_close_passes_within_tolerance():
    checks.check_close(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    checks.check_close(3.0, 3.0)


def test_check_close_names_the_worst_element():
    actual = torch.zeros(2, 3)
    expected = torch.zeros(2, 3)
    expected[1, 2] = 5.0
    expected[0, 0] = 0.5
    with pytest.raises(AssertionError) as info:
        checks.check_close(actual, expected, name="dx", hint="Look at the stride.")
    message = str(info.value)
    assert "dx" in message and "(1, 2)" in message and "5.0" in message
    assert "2 of 6 elements" in message and "Look at the stride." in message


def test_check_close_reports_shapes_before_values():
    with pytest.raises(AssertionError, match=r"shape \(2, 3\), expected \(3, 2\)"):
        checks.check_close(torch.zeros(2, 3), torch.zeros(3, 2))


def test_check_close_catches_a_forgotten_return():
    with pytest.raises(AssertionError, match="forget to `return`"):
        checks.check_close(None, torch.zeros(1))


def test_check_close_treats_nan_positions():
    nan = float("nan")
    checks.check_close(torch.tensor([nan, 1.0]), torch.tensor([nan, 1.0]))
    with pytest.raises(AssertionError):
        checks.check_close(torch.tensor([nan, 1.0]), torch.tensor([0.0, 1.0]))


def test_check_close_handles_bfloat16_and_bool():
    checks.check_close(torch.ones(2, dtype=torch.bfloat16), torch.ones(2))
    with pytest.raises(AssertionError):
        checks.check_close(torch.tensor([True, False]), torch.tensor([True, True]))


def test_check_shape_with_wildcards():
    checks.check_shape(torch.zeros(4, 3, 8), (4, -1, 8))
    with pytest.raises(AssertionError, match=r"\(4, 3, 8\), expected \(4, 3\)"):
        checks.check_shape(torch.zeros(4, 3, 8), (4, 3))


def test_check_equal():
    checks.check_equal((3, 4), (3, 4))
    with pytest.raises(AssertionError, match="is 5, expected 6"):
        checks.check_equal(5, 6, name="size")


def test_rel_error_matches_its_definition():
    a = np.array([1.0, 2.0])
    b = np.array([1.0, 2.2])
    assert checks.rel_error(a, b) == pytest.approx(0.2 / 4.2)
    assert checks.rel_error(a, a) == 0.0


def test_numeric_gradient_of_a_cubic():
    x = np.random.default_rng(0).normal(size=(3, 4))
    grad = checks.numeric_gradient(lambda v: float(np.sum(v**3)), x.copy())
    assert checks.rel_error(grad, 3 * x**2) < 1e-7


def test_numeric_gradient_torch_against_autograd():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    dout = torch.randn(2, 4, 3, 3, dtype=torch.float64)
    numeric = checks.numeric_gradient_torch(lambda v: torch.nn.functional.conv2d(v, w), x, dout)
    xr = x.clone().requires_grad_(True)
    torch.nn.functional.conv2d(xr, w).backward(dout)
    checks.check_gradient(numeric, xr.grad, tol=1e-7)


def test_check_gradient_rejects_a_wrong_gradient():
    with pytest.raises(AssertionError, match="relative error"):
        checks.check_gradient(np.array([1.0, 2.0]), np.array([1.0, -2.0]))


def test_check_equal_of_a_tensor_against_a_tuple_says_what_to_compare():
    with pytest.raises(AssertionError, match=r"output is a tensor.*tuple\(output\.shape\)"):
        checks.check_equal(torch.zeros(2, 3), (2, 3))
    with pytest.raises(AssertionError, match=r"a tensor of 2 elements.*\.tolist\(\)"):
        checks.check_equal(torch.tensor([1, 2]), (1, 2))
    checks.check_equal(torch.tensor(3), 3)  # one element against a number: compared as numbers
    with pytest.raises(AssertionError, match="output is 4, expected 3"):
        checks.check_equal(torch.tensor([4]), 3)
    checks.check_equal(torch.tensor([1, 2]), torch.tensor([1, 2]))
    with pytest.raises(AssertionError, match=r"\(\(3,\), \[1, 2, 3\]\), expected"):
        checks.check_equal(torch.tensor([1, 2, 3]), torch.tensor([1, 2]))
