"""Run each submission's kernel in a bubblewrap sandbox.

Threat model: a submission is untrusted code. Its kernel must not read the hidden tests
(source notebooks, the release's source copy), the gradebook or other students' files, must
not change anything outside its own working folder, must not reach the network, and must not
take the machine down (memory, processes, output). nbgrader itself runs outside the sandbox:
only the kernel that executes the student's code is confined.

How: nbgrader starts kernels by kernelspec name (``python3``). For each graded student a
private kernelspec folder (first on ``JUPYTER_PATH``) maps ``python3`` to this module's
launcher, which sets resource limits and execs ``bwrap`` around ``ipykernel``. The kernel talks
to nbgrader over Unix sockets (``KernelManager.transport=ipc``) in a private runtime folder,
since the sandbox has no network at all. Inside, the file system holds only what the kernel
needs, read-only: the system folders (``/usr``, ``/etc``, ``/bin`` ...), the Python environment
and its base interpreter, and the `course_utils` package; writable: the student's own working
folder and a private ``/tmp``. The repository, the course root (gradebook, source notebooks,
other submissions) and every home folder do not exist in there.

Limits: address space (``--memory-mb``, RLIMIT_AS: an allocation beyond it raises
MemoryError in the kernel), processes (a pids cgroup when one can be made, else RLIMIT_NPROC
for a non-root user), file size (RLIMIT_FSIZE), core dumps off.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MEMORY_MB = 8192  # torch alone maps ~3.6 GB of address space
DEFAULT_MAX_PROCESSES = 256
DEFAULT_MAX_FILE_MB = 512
MEMORY_NOTE = "memory limit"


class SandboxUnavailable(RuntimeError):
    """No sandbox can run on this machine; the message says why and what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"no sandbox for student code: {reason}. Submissions would run with your "
            "permissions (able to read the hidden tests and the gradebook). Install "
            "bubblewrap, or pass --no-sandbox to grade anyway (trusted notebooks only)."
        )


@dataclass(frozen=True)
class SandboxPlan:
    """Where one student's kernel may read and write."""

    workdir: Path  # the student's autograded folder (writable)
    runtime: Path  # connection file and sockets (writable)
    readable: tuple[Path, ...]  # the Python environment, course_utils ... (read-only)
    memory_mb: int = DEFAULT_MEMORY_MB
    max_processes: int = DEFAULT_MAX_PROCESSES


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def unavailable_reason() -> str | None:
    """Why no sandbox can run here (None when one can)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap sandboxes need Linux (this is {sys.platform})"
    if bwrap_path() is None:
        return "bubblewrap is not installed (Debian/Ubuntu: sudo apt-get install bubblewrap)"
    probe = subprocess.run(
        [bwrap_path(), "--ro-bind", "/", "/", "--unshare-all", "--dev", "/dev", "true"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"bubblewrap cannot create a sandbox here: {probe.stderr.strip()[:200]}"
    return None


SYSTEM_FOLDERS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def python_folders() -> tuple[Path, ...]:
    """What the kernel's Python needs: the environment, its base interpreter, course_utils."""
    import course_utils

    folders = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    folders.add(Path(course_utils.__file__).resolve().parent)
    return tuple(sorted(folders))


def bwrap_command(plan: SandboxPlan, argv: list[str]) -> list[str]:
    """The ``bwrap`` command line confining ``argv`` to ``plan``."""
    cmd = [
        bwrap_path() or "bwrap",
        "--die-with-parent",
        "--new-session",
        "--unshare-all",  # network, pid, ipc, uts, cgroup, user namespaces
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
    ]  # fmt: skip
    for name in SYSTEM_FOLDERS:
        path = Path(name)
        if path.is_symlink():  # merged /usr: /bin -> usr/bin
            cmd += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            cmd += ["--ro-bind", name, name]
    for folder in plan.readable:
        if folder.exists() and not any(
            folder == Path(s) or Path(s) in folder.parents for s in SYSTEM_FOLDERS
        ):
            cmd += ["--ro-bind", str(folder), str(folder)]
    for folder in (plan.runtime, plan.workdir):
        cmd += ["--bind", str(folder), str(folder)]
    cmd += [
        "--chdir", str(plan.workdir),
        "--setenv", "HOME", "/tmp",
        "--setenv", "MPLCONFIGDIR", str(plan.runtime / "matplotlib"),
        "--setenv", "JUPYTER_RUNTIME_DIR", str(plan.runtime),
        # ipykernel watches its parent's pid, which a pid namespace hides: bwrap's
        # --die-with-parent ends the kernel with its launcher instead
        "--unsetenv", "JPY_PARENT_PID",
        "--",
        *argv,
    ]  # fmt: skip
    return cmd


def _pids_cgroup(max_processes: int) -> Path | None:
    """A fresh pids cgroup (v1 or v2) holding this process, or None where none can be made
    (no permission, no pids controller). Processes of the sandbox stay in it."""
    candidates = [Path("/sys/fs/cgroup/pids")]  # cgroup v1
    own = (
        Path("/proc/self/cgroup").read_text().splitlines()
        if Path("/proc/self/cgroup").exists()
        else []
    )
    for line in own:  # cgroup v2: "0::/path"
        if line.startswith("0::"):
            candidates.append(Path("/sys/fs/cgroup") / line[3:].lstrip("/"))
    for base in candidates:
        if not (base / "cgroup.procs").exists():
            continue
        group = base / f"course-sandbox-{os.getpid()}"
        try:
            group.mkdir(exist_ok=True)
            (group / "pids.max").write_text(str(max_processes))
            (group / "cgroup.procs").write_text(str(os.getpid()))
            return group
        except OSError:
            try:
                group.rmdir()
            except OSError:
                pass
    return None


def remove_empty_cgroups() -> None:
    """Delete the pids cgroups of sandboxes that have ended (the kernel removes none itself)."""
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        for group in base.glob("course-sandbox-*"):
            try:
                if not (group / "cgroup.procs").read_text().strip():
                    group.rmdir()
            except OSError:
                pass


def limit_resources(plan: SandboxPlan) -> str:
    """Apply the limits to this process (inherited by bwrap and the kernel); say which."""
    applied = []
    memory = plan.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    applied.append(f"address space {plan.memory_mb} MB")
    size = DEFAULT_MAX_FILE_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if _pids_cgroup(plan.max_processes) is not None:
        applied.append(f"{plan.max_processes} processes (cgroup)")
    elif os.getuid() != 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (plan.max_processes, plan.max_processes))
        applied.append(f"{plan.max_processes} processes (rlimit)")
    return ", ".join(applied)


def write_kernelspec(folder: Path, plan: SandboxPlan) -> Path:
    """A ``python3`` kernelspec under ``folder/kernels`` that starts the sandboxed kernel."""
    spec_dir = folder / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    plan_file = folder / "sandbox.json"
    plan_file.write_text(
        json.dumps(
            {
                "workdir": str(plan.workdir),
                "runtime": str(plan.runtime),
                "readable": [str(p) for p in plan.readable],
                "memory_mb": plan.memory_mb,
                "max_processes": plan.max_processes,
            }
        )
    )
    spec = {
        "argv": [
            sys.executable, "-m", "course_grading.sandbox", str(plan_file), "{connection_file}",
        ],
        "display_name": "Python 3 (sandboxed)",
        "language": "python",
        # a signal would reach bwrap, not the kernel inside: interrupt over the control channel
        "interrupt_mode": "message",
    }  # fmt: skip
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def _matplotlib_cache(into: Path) -> None:
    """Seed the sandbox's matplotlib folder with the font list (else every kernel rebuilds it)."""
    try:
        import matplotlib

        cache = Path(matplotlib.get_cachedir())
    except Exception:
        return
    into.mkdir(parents=True, exist_ok=True)
    for fontlist in cache.glob("fontlist-*.json"):
        shutil.copy(fontlist, into / fontlist.name)


def prepare(
    folder: Path, workdir: Path, memory_mb: int = DEFAULT_MEMORY_MB
) -> tuple[dict[str, str], list[str]]:
    """Set up one student's sandbox under ``folder``; return nbgrader's extra environment and
    configuration (kernels by Unix socket in the private runtime folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    runtime = folder / "runtime"
    runtime.mkdir(exist_ok=True)
    _matplotlib_cache(runtime / "matplotlib")
    plan = SandboxPlan(workdir, runtime, python_folders(), memory_mb)
    write_kernelspec(folder, plan)
    env = {
        "JUPYTER_PATH": os.pathsep.join(
            p for p in (str(folder), os.environ.get("JUPYTER_PATH", "")) if p
        )
    }
    config = [
        "--KernelManager.transport=ipc",
        f"--KernelManager.ip={runtime / 'kernel-ipc'}",
        f"--KernelManager.connection_file={runtime / 'kernel.json'}",
    ]
    return env, config


def _plan_from(path: str) -> SandboxPlan:
    raw = json.loads(Path(path).read_text())
    return SandboxPlan(
        workdir=Path(raw["workdir"]),
        runtime=Path(raw["runtime"]),
        readable=tuple(Path(p) for p in raw["readable"]),
        memory_mb=int(raw["memory_mb"]),
        max_processes=int(raw["max_processes"]),
    )


def launch(plan_file: str, connection_file: str) -> None:
    """Kernel launcher (the kernelspec's argv): limits, then exec bwrap around ipykernel."""
    plan = _plan_from(plan_file)
    limit_resources(plan)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
    cmd = bwrap_command(plan, argv)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    launch(sys.argv[1], sys.argv[2])
