"""The NumPy MLP of a2_mlp/mlp_from_scratch against the same MLP in PyTorch, on the CPU.

Loads ``NeuralNetwork`` (with ``forward``, ``backward`` and ``update``) from the solution cells
of the source notebook, checks that one Adam step gives the parameters PyTorch gives from the
same weights and data, then times one full-batch training step (forward, backward, Adam update,
float32) of both, interleaved, with the same number of threads (``threadpoolctl`` limits
NumPy's BLAS, ``torch.set_num_threads`` PyTorch). Prints the median times and the ratio
NumPy / PyTorch for each network size.

Goal: NumPy within 2x of PyTorch on the 128-pixel setting of the notebook (4096 training
pixels, 256 Fourier features, 3 layers of 128).

    python benchmarks/mlp_numpy_vs_torch.py
    python benchmarks/mlp_numpy_vs_torch.py --threads 1 --repeats 20
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from notebook_defs import load_definitions  # noqa: E402

NOTEBOOK = "a2_mlp/mlp_from_scratch.ipynb"
# (label, training pixels N, input features, hidden width, layers)
CASES = [
    ("32 px, FAST", 256, 256, 128, 3),
    ("128 px", 4096, 512, 128, 3),
    ("128 px, 4 x 256", 4096, 512, 256, 4),
]
GOAL_CASE = "128 px"
GOAL_RATIO = 2.0


def numpy_network(cls: type, n_in: int, hidden: int, layers: int, seed: int = 0):
    np.random.seed(seed)
    net = cls(n_in, [hidden] * (layers - 1), 3, layers, opt="Adam")
    for state in (net.params, net.m, net.v):
        for key in state:
            state[key] = state[key].astype(np.float32)
    return net


def torch_network(params: dict[str, np.ndarray], layers: int) -> torch.nn.Sequential:
    """The same MLP in PyTorch, with the NumPy network's weights (W stored [in, out])."""
    modules: list[torch.nn.Module] = []
    for i in range(1, layers + 1):
        w = params[f"W{i}"]
        linear = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(params[f"b{i}"]))
        modules += [linear, torch.nn.Sigmoid() if i == layers else torch.nn.ReLU()]
    return torch.nn.Sequential(*modules)


def torch_step(model, optimizer, x, y) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss = torch.mean((model(x) - y) ** 2)
    loss.backward()
    optimizer.step()


def numpy_step(net, x, y) -> None:
    net.forward(x)
    net.backward(y)
    net.update(1e-3)


def check_same_step(cls: type) -> None:
    """One Adam step of the notebook's network equals torch.optim.Adam's (float32 tolerance)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 16)).astype(np.float32)
    y = rng.uniform(size=(64, 3)).astype(np.float32)
    net = numpy_network(cls, 16, 32, 3)
    model = torch_network(net.params, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):
        numpy_step(net, x, y)
        torch_step(model, optimizer, torch.from_numpy(x), torch.from_numpy(y))
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for i, linear in enumerate(linears, start=1):
        ok = np.allclose(net.params[f"W{i}"], linear.weight.detach().numpy().T, atol=1e-5)
        ok &= np.allclose(net.params[f"b{i}"], linear.bias.detach().numpy(), atol=1e-5)
        if not ok:
            raise SystemExit(f"layer {i}: the NumPy network and PyTorch disagree after Adam steps")


def timed(step: Callable[..., None], *args) -> float:
    start = time.perf_counter()
    step(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=10, help="timed steps of each")
    parser.add_argument("--only", default=None, help="run only the case with this label")
    args = parser.parse_args()
    with contextlib.redirect_stdout(io.StringIO()):  # demo cells run on the way print
        defs = load_definitions(NOTEBOOK, ["NeuralNetwork", "forward", "backward", "update"])
    cls = defs["NeuralNetwork"]
    check_same_step(cls)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, numpy {np.__version__}, {args.threads} thread(s), float32")
    print(f"{'case':<18}{'N x in, layers':>20}{'numpy ms':>10}{'torch ms':>10}{'ratio':>8}")
    goal_ratio = None
    cases = [c for c in CASES if args.only is None or c[0] == args.only]
    for label, n, n_in, hidden, layers in cases:
        rng = np.random.default_rng(1)
        x = rng.standard_normal((n, n_in)).astype(np.float32)
        y = rng.uniform(size=(n, 3)).astype(np.float32)
        net = numpy_network(cls, n_in, hidden, layers)
        model = torch_network(net.params, layers)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        t_np, t_torch = [], []
        with threadpool_limits(limits=args.threads, user_api="blas"):
            for _ in range(2):  # warm-up
                numpy_step(net, x, y)
                torch_step(model, optimizer, xt, yt)
            for _ in range(args.repeats):  # interleaved, so both see the same machine load
                t_np.append(timed(numpy_step, net, x, y))
                t_torch.append(timed(torch_step, model, optimizer, xt, yt))
        ms_np, ms_torch = statistics.median(t_np) * 1e3, statistics.median(t_torch) * 1e3
        ratio = ms_np / ms_torch
        if label == GOAL_CASE:
            goal_ratio = ratio
        shape = f"{n} x {n_in}, {layers} x {hidden}"
        print(f"{label:<18}{shape:>20}{ms_np:>10.2f}{ms_torch:>10.2f}{ratio:>7.2f}x")
    if goal_ratio is not None:
        verdict = "met" if goal_ratio <= GOAL_RATIO else "NOT met"
        print(
            f"goal: NumPy step within {GOAL_RATIO:.0f}x of PyTorch on {GOAL_CASE}: "
            f"{goal_ratio:.2f}x ({verdict})"
        )


if __name__ == "__main__":
    main()
