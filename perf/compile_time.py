"""Compile time of a user's one-file program, as the perf check measures it.

Runs the exact compile commands CMake recorded (compile_commands.json) for perf/compile/all_modules.cpp (core, ad,
nn and sampling in one file, the README's snippets) and perf/compile/kokkos_only.cpp (one Kokkos kernel and one
reduction, the same flags), without ccache, and takes the CPU time (user + system) of each compiler process and
its children. The results look like benchmark entries, so baseline.json can take ratios of them.
"""
import json
import os
import shlex
import subprocess
import tempfile

SOURCES = {"compile/all_modules": "perf/compile/all_modules.cpp", "compile/kokkos_only": "perf/compile/kokkos_only.cpp"}
EXE = "compile"  # the '_exe' of these entries, so the check can measure them again


def _command(entries, source):
    for e in entries:
        if e["file"].endswith(source):
            return e
    raise KeyError(f"compile_commands.json has no entry for {source}")


def cpu_seconds(entry):
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "x.o")
        args = [out if i > 0 and args[i - 1] == "-o" else a for i, a in enumerate(args)]
        proc = subprocess.Popen(args, cwd=entry["directory"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        err = proc.stderr.read().decode(errors="replace")
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"compiling {entry['file']} failed:\n{err[-4000:]}")
    return usage.ru_utime + usage.ru_stime


def measure(compile_commands, names=None):
    with open(compile_commands) as f:
        entries = json.load(f)
    results = {}
    for name, source in SOURCES.items():
        if names is not None and name not in names:
            continue
        print(f"perf-check: compiling {source} (CPU time)", flush=True)
        s = cpu_seconds(_command(entries, source))
        results[name] = {"name": name, "cpu_seconds": s, "real_time": s, "time_unit": "s CPU", "_exe": EXE}
    return results
