"""Fuzzing the file loaders (issue 14): running each case isolated and judging its outcome.

The valid files are in fuzz_files_corpus, what a case does to them in fuzz_files_mutations.

Used by tests/core/test_fuzz_files.py (a CI-sized run that fails on the first bad case) and
tests/benchmarks/fuzz_files.py (many cases, a tally of outcomes, the distinct traceback
sites).

Each case runs in a forked child of a *fork server*: a fresh interpreter that imports
explorer and every loader once, never runs a loader itself (so it has no worker threads
when it forks) and forks one child per case. The child gets an address-space limit
(RLIMIT_AS: what the server had mapped at the fork plus 2 GiB), runs the case and sends
the outcome back on a pipe; the server kills it after the timeout (30 s). So a case that
hangs, allocates without bound or crashes the interpreter is recorded as such, and never
takes the test run or the machine with it.

Outcomes, from worst to best:
  crash      the child died from a signal, or exited without a word (native crash, abort)
  hang       still running after the timeout
  memory     a MemoryError anywhere (also one the app turned into "not enough memory")
             or a peak RSS above 2 GiB: the case wanted more than 2 GiB for a file of
             a few KB
  traceback  any exception other than InputError (a plugin's contained exception too)
  insane     it loaded, but the result is inconsistent (shapes, non-finite count,
             `inspect --json` not JSON)
  clean      an InputError with a message and no traceback text
  success    it loaded and the result is sane

A case runs the public entry (loaders.open_file, then checks.check_set, as `inspect`
does) and then the CLI's `inspect --json` in-process (explorer.cli.run); the worse of
the two is the case's outcome. run_cli_subprocess runs the real command for a sample.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
from fuzz_files_mutations import repro_command

GIB = 1 << 30
MEMORY_LIMIT = 2 * GIB  # what a case may allocate beyond the server's own mappings
TIMEOUT = 30.0

OUTCOMES = ("success", "clean", "insane", "traceback", "memory", "hang", "crash")
GOOD = ("success", "clean")
RANK = {name: i for i, name in enumerate(OUTCOMES)}




# --- the fork server (client side) ---------------------------------------------------

class FuzzServer:
    """A fresh interpreter that forks one child per case. Use as a context manager."""

    def __init__(self, *, env: dict[str, str] | None = None, home: Path | None = None,
                 python: str = sys.executable):
        env = dict(os.environ if env is None else env)
        self._home = tempfile.TemporaryDirectory(prefix="fuzz-home-") if home is None else None
        env["EXPLORER_HOME"] = str(home or self._home.name)
        # one thread each: the machine is shared, and the server must be single-threaded
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        self.env = env
        self.proc = subprocess.Popen([python, str(Path(__file__).resolve()), "--serve"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     text=True, bufsize=1)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fuzz server did not start (see stderr)")
        self.info = json.loads(line)

    @property
    def formats(self) -> list[str]:
        return self.info["formats"]

    def run(self, path: Path, *, cli: bool = True, timeout: float = TIMEOUT) -> dict:
        """The case's outcome. A hang or a crash is run once more before it counts: on a
        shared machine a stall (another process taking all memory, the OOM killer) looks
        the same, and a real one happens again. `retried` says when the first run was
        not confirmed."""
        result = self._request(path, cli, timeout)
        if result["outcome"] in ("hang", "crash"):
            again = self._request(path, cli, timeout)
            if again["outcome"] != result["outcome"]:
                again["retried"] = f"first run: {result['outcome']}"
            result = again
        return result

    def _request(self, path: Path, cli: bool, timeout: float) -> dict:
        request = {"path": str(path), "cli": cli, "timeout": timeout, "memory": MEMORY_LIMIT}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fuzz server died")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._home is not None:
            self._home.cleanup()

    def __enter__(self) -> FuzzServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def describe(result: dict, kind: str | None = None, ops=None) -> str:
    """A readable account of a case, for a failing test or the tally's list of sites."""
    lines = [f"outcome {result['outcome']}"
             + (f" in {result['elapsed']:.1f} s" if "elapsed" in result else "")]
    if kind is not None:
        lines.append(f"kind {kind}, ops {ops!r}")
        lines.append("repro: " + repro_command(kind, ops))
    for part in ("api", "cli"):
        r = result.get(part)
        if not r:
            continue
        if part == "cli" and all(r.get(f) == result["api"].get(f)
                                 for f in ("outcome", "type", "site")):
            lines.append(f"cli: the same ({r['outcome']})")
            continue
        head = f"{part}: {r['outcome']}"
        if r.get("type"):
            head += f" {r['type']}"
        if r.get("site"):
            head += f" at {r['site']}"
        lines.append(head)
        if r.get("message"):
            lines.append(f"  message: {r['message'][:500]}")
        if r.get("traceback") and r["outcome"] not in GOOD:
            lines.append("  " + r["traceback"][-2500:].replace("\n", "\n  "))
    if result.get("stderr"):
        lines.append("child stderr: " + result["stderr"][-2500:])
    return "\n".join(lines)


def site_key(result: dict) -> tuple:
    """What makes two bad outcomes the same problem: outcome, exception type, innermost site."""
    for part in ("api", "cli"):
        r = result.get(part) or {}
        if r.get("outcome") == result["outcome"]:
            return (result["outcome"], r.get("type"), r.get("site"))
    return (result["outcome"], result.get("type"), result.get("site"))


def worst(*outcomes: str) -> str:
    return max(outcomes, key=RANK.__getitem__)


# --- the real command, for a sample --------------------------------------------------

def run_cli_subprocess(path: Path, *, env: dict[str, str] | None = None,
                       timeout: float = TIMEOUT, python: str = sys.executable) -> dict:
    """`embedding-explorer inspect --json PATH` as a user runs it (python -m explorer)."""
    env = dict(os.environ if env is None else env)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    limit = MEMORY_LIMIT + GIB // 2  # plus what the interpreter and its imports map

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    start = time.perf_counter()
    # cwd: `python -m` puts the working directory first on sys.path, where a checkout's
    # explorer/ would win over PYTHONPATH
    proc = subprocess.Popen([python, "-m", "explorer", "inspect", "--json", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=Path(path).parent, preexec_fn=limits, text=True,
                            errors="replace")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return {"outcome": "hang", "elapsed": time.perf_counter() - start, "stderr": err[-3000:]}
    result = {"elapsed": time.perf_counter() - start, "returncode": proc.returncode,
              "stderr": err[-3000:]}
    if proc.returncode < 0:
        result["outcome"] = "crash"
        result["type"] = signal.Signals(-proc.returncode).name
    elif "MemoryError" in err or "not enough memory" in err:
        result["outcome"] = "memory"
    elif proc.returncode == 0:
        try:
            json.loads(out)
            result["outcome"] = "success"
        except ValueError:
            result["outcome"] = "insane"
            result["message"] = "stdout is not JSON: " + out[:300]
    elif proc.returncode == 2 and err.startswith("error: ") and "Traceback" not in err:
        result["outcome"] = "clean"
        result["message"] = err.strip()
    else:
        result["outcome"] = "traceback"
        last = err.strip().splitlines()[-1] if err.strip() else ""
        result["type"] = last.split(":", 1)[0]
        result["message"] = last
    return result


# --- the server and its children -------------------------------------------------------

def _serve() -> None:
    out = os.fdopen(os.dup(1), "w")  # the protocol; stray prints must not break it
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    import explorer
    from explorer import cli  # noqa: F401  (imported once, here, not in every child)
    from explorer.core import checks  # noqa: F401
    from explorer.core.loaders import formats

    fmts = formats()
    for fmt in fmts:  # import every loader's module now, without running any of them
        try:
            fmt.sniff(b"", Path("x"))
        except Exception:  # noqa: BLE001
            pass
    import h5py  # noqa: F401  (arrays imports it lazily)
    try:
        import explorer_safetensors
        plugin = explorer_safetensors.__file__
    except ImportError:
        plugin = None
    info = {"explorer": explorer.__file__, "safetensors_plugin": plugin,
            "formats": [f.name for f in fmts], "python": sys.executable,
            "threads": threading_count()}
    out.write(json.dumps(info) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        out.write(json.dumps(_fork_case(request)) + "\n")
        out.flush()


def threading_count() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def _mapped_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _fork_case(request: dict) -> dict:
    limit = _mapped_bytes() + request["memory"]
    rfd, wfd = os.pipe()
    errfile = tempfile.TemporaryFile()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(rfd)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            os.dup2(errfile.fileno(), 2)
            import faulthandler
            faulthandler.enable(file=errfile, all_threads=True)
            result = _case(request["path"], request["cli"])
            data = json.dumps(result).encode()
        except BaseException as exc:  # noqa: BLE001  (the harness itself failed)
            data = json.dumps({"outcome": "crash", "type": "harness: " + type(exc).__name__,
                               "message": "".join(traceback.format_exception(exc))}).encode()
            code = 1
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(wfd, view):]
        finally:
            os._exit(code)
    os.close(wfd)
    chunks, hung = [], False
    deadline = start + request["timeout"]
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            hung = True
            break
        ready, _, _ = select.select([rfd], [], [], remaining)
        if ready:
            chunk = os.read(rfd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    if hung:
        os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(rfd)
    errfile.seek(0)
    stderr = errfile.read()[-4000:].decode("utf-8", errors="replace")
    errfile.close()
    peak = usage.ru_maxrss * 1024
    if hung:
        result = {"outcome": "hang", "message": f"still running after {request['timeout']} s"}
    elif os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        result = {"outcome": "crash", "type": sig, "site": _fault_site(stderr),
                  "message": f"killed by {sig}"}
    else:
        try:
            result = json.loads(b"".join(chunks))
        except ValueError:
            result = {"outcome": "crash", "type": f"exit {os.WEXITSTATUS(status)}",
                      "message": "the child exited without a result"}
    if peak > MEMORY_LIMIT and result["outcome"] != "hang":
        result["outcome"] = worst(result["outcome"], "memory")
        result["message"] = f"peak RSS {peak / GIB:.2f} GiB"
    result.update(elapsed=elapsed, peak_rss=peak)
    if result["outcome"] not in GOOD and stderr.strip():
        result["stderr"] = stderr
    return result


def _fault_site(stderr: str) -> str | None:
    """The innermost explorer frame of faulthandler's dump of the crashing thread."""
    for line in stderr.splitlines():
        m = re.search(r'File "([^"]+)", line (\d+) in (\S+)', line)
        if m and _ours(m.group(1)):
            return f"{_short(m.group(1))}:{m.group(2)} in {m.group(3)}"
    return None


def _ours(filename: str) -> bool:
    return (f"{os.sep}explorer{os.sep}" in filename
            or f"{os.sep}explorer_safetensors{os.sep}" in filename)


def _short(filename: str) -> str:
    for marker in (f"{os.sep}explorer_safetensors{os.sep}", f"{os.sep}explorer{os.sep}"):
        i = filename.rfind(marker)
        if i >= 0:
            return filename[i + 1:]
    parts = Path(filename).parts
    return "/".join(parts[-3:])


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _sites(exc: BaseException) -> tuple[str | None, str | None]:
    """The innermost frame in explorer (or the plugin) and the innermost frame of all."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if _ours(f.filename)]
    site = f"{_short(ours[-1].filename)}:{ours[-1].lineno} in {ours[-1].name}" if ours else None
    deepest = (f"{_short(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name}"
               if frames else None)
    return site, deepest


def _failure(outcome: str, exc: BaseException) -> dict:
    site, deepest = _sites(exc)
    return {"outcome": outcome, "type": type(exc).__name__, "site": site, "deepest": deepest,
            "message": str(exc)[:1000],
            "traceback": "".join(traceback.format_exception(exc))[-6000:]}


def _classify(exc: BaseException) -> dict:
    from explorer.core.errors import InputError

    memory = next((e for e in _chain(exc) if isinstance(e, MemoryError)), None)
    if memory is not None:
        out = _failure("memory", memory)
        if memory is not exc:
            out["message"] = f"{type(exc).__name__}: {exc} (from {type(memory).__name__})"
        return out
    if isinstance(exc, InputError):
        inner = exc.__context__
        if type(exc).__name__ == "PluginFailure" and inner is not None \
                and not isinstance(inner, InputError):
            out = _failure("traceback", inner)  # a plugin's exception, contained by the app
            out["type"] = f"{type(inner).__name__} (contained as PluginFailure)"
            return out
        text = str(exc)
        if not exc.message or "Traceback" in text:
            out = _failure("traceback", exc)
            out["type"] = "InputError without a clean message"
            return out
        return {"outcome": "clean", "type": type(exc).__name__, "message": text[:1000]}
    return _failure("traceback", exc)


def _insane(es, report) -> str | None:
    vectors = es.vectors
    if getattr(vectors, "ndim", 0) != 2:
        return "vectors are not 2-D"
    n, d = vectors.shape
    if n < 1 or d < 2:
        return f"shape {vectors.shape}"
    if vectors.dtype.kind not in "fiub":
        return f"vectors of dtype {vectors.dtype}"
    if es.metadata.num_rows != n:
        return f"{es.metadata.num_rows} metadata rows for {n} vectors"
    if (es.count, es.dim) != (n, d):
        return f"count/dim {es.count}x{es.dim} but vectors {n}x{d}"
    with np.errstate(all="ignore"):
        values = np.asarray(vectors).astype(np.float32)
    nonfinite = int((~np.isfinite(values)).any(axis=1).sum())
    if nonfinite != report.scan.nan_rows:
        return f"{nonfinite} rows hold NaN/Inf but the checks count {report.scan.nan_rows}"
    return None


def _case(path: str, with_cli: bool) -> dict:
    from explorer.core.checks import check_set
    from explorer.core.loaders import open_file

    ignored: list = []  # "Exception ignored in ...": a traceback on stderr
    sys.unraisablehook = ignored.append
    try:
        es = open_file(path)
        report = check_set(es)
        problem = _insane(es, report)
        api = ({"outcome": "insane", "type": "InsaneResult", "message": problem} if problem
               else {"outcome": "success", "shape": [es.count, es.dim], "format": es.format,
                     "nan_rows": int(report.scan.nan_rows)})
    except BaseException as exc:  # noqa: BLE001
        api = _classify(exc)
    if ignored and RANK[api["outcome"]] < RANK["traceback"]:
        after, first = api["outcome"], ignored[0]
        api = _failure("traceback", first.exc_value)
        api["type"] = f"{type(first.exc_value).__name__} (printed as 'Exception ignored')"
        api["message"] = f"then {after}: " + api["message"]
        code = getattr(first.object, "__code__", None)  # the callback it escaped from
        if api["site"] is None and code is not None and _ours(code.co_filename):
            api["site"] = f"{_short(code.co_filename)}:{code.co_firstlineno} in {code.co_name}"
    sys.unraisablehook = sys.__unraisablehook__
    result = {"outcome": api["outcome"], "api": api}
    if with_cli:
        result["cli"] = _cli_in_process(path)
        result["outcome"] = worst(api["outcome"], result["cli"]["outcome"])
        result["mismatch"] = api["outcome"] != result["cli"]["outcome"]
    return result


def _cli_in_process(path: str) -> dict:
    from explorer import cli

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.run(["inspect", "--json", path])
    except BaseException as exc:  # noqa: BLE001
        return _classify(exc)
    text = err.getvalue()
    if code == 0:
        try:
            json.loads(out.getvalue())
        except ValueError:
            return {"outcome": "insane", "type": "InsaneResult",
                    "message": "inspect --json printed no JSON: " + out.getvalue()[:300]}
        return {"outcome": "success"}
    if code == 2 and text.startswith("error: ") and "Traceback" not in text:
        if "not enough memory" in text:
            return {"outcome": "memory", "type": "MemoryError (reported)", "message": text[:1000]}
        return {"outcome": "clean", "message": text.strip()[:1000]}
    return {"outcome": "traceback", "type": f"exit {code}", "message": text[-1000:]}


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        _serve()
    else:
        sys.exit("usage: fuzz_files_harness.py --serve (started by FuzzServer)")
