"""course_utils.checks: messages students can act on, and numeric gradients that are right."""

import importlib.util
import sys
import types

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


def test_numeric_gradient_array_against_autograd():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 5))
    x = rng.normal(size=(3, 4))
    dout = rng.normal(size=(3, 5))
    numeric = checks.numeric_gradient_array(lambda v: np.tanh(v @ w), x.copy(), dout)
    xt = torch.tensor(x, requires_grad=True)
    torch.tanh(xt @ torch.tensor(w)).backward(torch.tensor(dout))
    checks.check_gradient(numeric, xt.grad, tol=1e-7)


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


def test_forbidden_refuses_inside_and_restores_after():
    import torch.nn.functional as F

    original = F.conv2d
    x, w = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3)
    with pytest.raises(AssertionError, match=r"functional.conv2d was called: do it by hand"):
        with checks.forbidden((F, "conv2d"), (torch, "conv2d"), reason="do it by hand"):
            assert F.relu(x).shape == x.shape  # what is not listed still works
            F.conv2d(x, w)
    assert F.conv2d is original
    assert F.conv2d(x, w).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError):  # restored after the student's own error too
        with checks.forbidden((F, "conv2d"), reason="x"):
            raise ValueError
    assert F.conv2d is original


def _fake_library(monkeypatch):
    """A module ``fake_reference_lib`` with a ``reference`` function, registered in sys.modules."""
    lib = types.ModuleType("fake_reference_lib")

    def reference(x):
        return x + 1

    lib.reference = reference
    monkeypatch.setitem(sys.modules, "fake_reference_lib", lib)
    return lib, reference


def test_forbidden_catches_an_alias_in_another_module(monkeypatch):
    lib, reference = _fake_library(monkeypatch)
    user = types.ModuleType("fake_student_helpers")  # `from fake_reference_lib import reference`
    user.ref = lib.reference
    user.unrelated = len
    monkeypatch.setitem(sys.modules, "fake_student_helpers", user)
    with checks.forbidden((lib, "reference"), reason="write it yourself"):
        with pytest.raises(
            AssertionError, match=r"^fake_reference_lib\.reference was called: write it yourself$"
        ):
            user.ref(1)  # the message names the forbidden function, not the alias
        with pytest.raises(AssertionError):
            lib.reference(1)
        assert user.unrelated is len
    assert user.ref is reference and lib.reference is reference
    assert user.ref(1) == 2


def test_forbidden_catches_an_alias_in_main(monkeypatch):
    import torch.nn.functional as F

    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "my_conv", F.conv2d, raising=False)  # a notebook cell's alias
    x, w = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3)
    with checks.forbidden((F, "conv2d"), reason="do it by hand"):
        with pytest.raises(
            AssertionError, match=r"torch\.nn\.functional\.conv2d was called: do it by hand"
        ):
            main.my_conv(x, w)
        with pytest.raises(AssertionError):  # F.conv2d is torch.conv2d: the same object
            torch.conv2d(x, w)
    assert main.my_conv is F.conv2d is torch.conv2d
    assert main.my_conv(x, w).shape == (1, 1, 2, 2)


def test_forbidden_restores_aliases_after_an_exception(monkeypatch):
    lib, reference = _fake_library(monkeypatch)
    user = types.ModuleType("fake_student_helpers")
    user.ref = reference
    monkeypatch.setitem(sys.modules, "fake_student_helpers", user)
    with pytest.raises(ValueError):
        with checks.forbidden((lib, "reference"), reason="x"):
            assert user.ref is not reference
            raise ValueError
    assert user.ref is reference and lib.reference is reference


def test_forbidden_restores_what_a_module_imported_inside_the_block_bound(monkeypatch):
    lib, reference = _fake_library(monkeypatch)
    with checks.forbidden((lib, "reference"), reason="x"):
        late = types.ModuleType("fake_late_import")  # `from fake_reference_lib import reference`
        late.reference = lib.reference  # runs on the first import, inside the block
        monkeypatch.setitem(sys.modules, "fake_late_import", late)
        with pytest.raises(AssertionError, match="fake_reference_lib.reference was called"):
            late.reference(1)
    assert late.reference is reference


def test_forbidden_restores_class_attributes_as_they_were():
    class Base:
        @classmethod
        def make(cls):
            return cls

    class Child(Base):
        @staticmethod
        def helper():
            return 1

    raw_helper = vars(Child)["helper"]
    with checks.forbidden((Child, "make"), (Child, "helper"), reason="x"):
        with pytest.raises(AssertionError, match="Child.make was called"):
            Child.make()
        with pytest.raises(AssertionError, match="Child.helper was called"):
            Child().helper()
    assert "make" not in vars(Child)  # inherited: the shadow is removed, not a bound copy kept
    assert Child.make() is Child
    assert vars(Child)["helper"] is raw_helper and Child().helper() == 1


def test_forbidden_leaves_classes_and_lazy_modules_alone(monkeypatch, tmp_path):
    lib, _ = _fake_library(monkeypatch)
    lib.Reference = type("Reference", (), {})
    user = types.ModuleType("fake_student_helpers")
    user.Reference = lib.Reference  # a class is never searched for: isinstance must keep working
    monkeypatch.setitem(sys.modules, "fake_student_helpers", user)
    # a module registered by importlib's LazyLoader loads on the first attribute access
    source = tmp_path / "fake_lazy_module.py"
    source.write_text("raise RuntimeError('the lazy module was loaded')\n")
    spec = importlib.util.spec_from_file_location("fake_lazy_module", source)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    lazy = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fake_lazy_module", lazy)
    loader.exec_module(lazy)
    with checks.forbidden((lib, "Reference"), (lib, "reference"), reason="x"):
        assert user.Reference is not lib.Reference
    assert lib.Reference is user.Reference
    assert type(lazy) is not types.ModuleType  # still lazy: never loaded
