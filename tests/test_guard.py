"""course_utils.guard.forbidden: reference functions raise inside the block, every alias too,
and everything is restored on exit."""

import importlib.util
import sys
import types

import pytest
import torch

from course_utils import guard


def test_forbidden_refuses_inside_and_restores_after():
    import torch.nn.functional as F

    original = F.conv2d
    x, w = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3)
    with pytest.raises(AssertionError, match=r"functional.conv2d was called: do it by hand"):
        with guard.forbidden((F, "conv2d"), (torch, "conv2d"), reason="do it by hand"):
            assert F.relu(x).shape == x.shape  # what is not listed still works
            F.conv2d(x, w)
    assert F.conv2d is original
    assert F.conv2d(x, w).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError):  # restored after the student's own error too
        with guard.forbidden((F, "conv2d"), reason="x"):
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
    with guard.forbidden((lib, "reference"), reason="write it yourself"):
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
    with guard.forbidden((F, "conv2d"), reason="do it by hand"):
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
        with guard.forbidden((lib, "reference"), reason="x"):
            assert user.ref is not reference
            raise ValueError
    assert user.ref is reference and lib.reference is reference


def test_forbidden_restores_what_a_module_imported_inside_the_block_bound(monkeypatch):
    lib, reference = _fake_library(monkeypatch)
    with guard.forbidden((lib, "reference"), reason="x"):
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
    with guard.forbidden((Child, "make"), (Child, "helper"), reason="x"):
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
    with guard.forbidden((lib, "Reference"), (lib, "reference"), reason="x"):
        assert user.Reference is not lib.Reference
    assert lib.Reference is user.Reference
    assert type(lazy) is not types.ModuleType  # still lazy: never loaded


def test_functions_named_finds_every_max_pooling_entry_point():
    import torch.nn.functional as F

    found = guard.functions_named("max_pool", F, torch, torch._C._nn)
    names = {(owner.__name__, name) for owner, name in found}
    assert {("torch.nn.functional", "max_pool2d"), ("torch", "max_pool2d")} <= names
    assert all("max_pool" in name and callable(getattr(owner, name)) for owner, name in found)
    x = torch.randn(1, 1, 4, 4)
    with pytest.raises(AssertionError, match="was called: by hand"):
        with guard.forbidden(*found, *guard.AUTOGRAD, reason="by hand"):
            torch.nn.MaxPool2d(2)(x)  # the module calls F.max_pool2d
    assert torch.nn.MaxPool2d(2)(x).shape == (1, 1, 2, 2)
