"""Write RELIABILITY.md from the reliability tests' own output.

Usage (from the repository root)::

    python -m tools.reliability_report --run      # run the reliability tests, then write the report
    python -m tools.reliability_report            # only write it, from the last results

Inputs, all under ``test-artifacts/`` (git-ignored):

* ``reliability.xml``: JUnit XML of the reliability tests (written by ``--run``; otherwise
  ``junit.xml`` from ``make test`` is used when newer);
* ``hostile_inputs.json``: per function, how many hostile calls were made and how each ended
  (written by ``tests/unit/test_hostile_inputs.py``);
* ``faults.json``: kill / full-disk / read-only figures (``tests/unit/core/test_store_faults.py``,
  ``tests/e2e/app/test_faults_e2e.py``);
* ``load_test_local.json``, ``load_test_ray.json``: the classroom load test per training backend
  (``benchmarks/load_test.py --backend local|ray``); an older run's ``load_test.json`` when neither is there.

Nothing in the report is typed by hand: a row appears only if a test or the load test wrote it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
REPORT = REPO / "RELIABILITY.md"

#: The test files that make up the reliability suite, and what each one tries.
SUITE: dict[str, tuple[str, str]] = {
    "tests/unit/test_hostile_inputs.py": (
        "Bad input",
        "hypothesis: NaN/inf, empty, wrong dtype/rank, giant kernels, bad strides, unknown names, "
        "at every public function",
    ),
    "tests/unit/core/test_uploads.py": (
        "Bad input",
        "uploads: not an image, decompression bomb, 10,000 x 10,000, truncated, wrong extension, EXIF",
    ),
    "tests/unit/core/test_store.py": (
        "Faults",
        "model store: name sanitising, atomic save, corrupt/foreign/tampered files, Lambda refused",
    ),
    "tests/unit/core/test_store_faults.py": (
        "Faults",
        "real processes: SIGKILL mid-save, full disk (RLIMIT_FSIZE), read-only folder",
    ),
    "tests/app/ui/test_faults_app.py": (
        "Faults",
        "every page with corrupt model files; corrupt dataset file named, digits offered",
    ),
    "tests/app/ui/test_models_widgets.py": (
        "Faults",
        "model picker and save form: unreadable files skipped, confirm before replace, read-only folder",
    ),
    "tests/e2e/app/test_faults_e2e.py": (
        "Faults",
        "server SIGKILLed mid-save and mid-training: restart, every saved model loads, no partial files",
    ),
    "tests/unit/core/test_uploads_memory.py": (
        "Bad input",
        "uploads' memory: 16-bit, RGBA and 1x25,000,000 PNGs of under 200 KB decoded in a child, peak RSS measured",
    ),
    "tests/unit/core/test_sidecar_schema.py": (
        "Bad input",
        "hypothesis: every sidecar field replaced by null, strings, lists, huge numbers, 100,000-deep nesting",
    ),
    "tests/unit/core/test_store_shipped.py": (
        "Security",
        "shipped models decided by the package's manifest, look-alike names (case, -/_, full-width) refused",
    ),
    "tests/unit/core/test_text.py": (
        "Security",
        "Markdown and Plotly escaping of user-controlled names",
    ),
    "tests/app/ui/test_bad_sidecars.py": (
        "Faults",
        "Sketch, Inside and Kernels render with malformed sidecars present, each named as unreadable",
    ),
    "tests/app/ui/test_escaping.py": (
        "Security",
        "hostile dataset, class and file names render as plain text (CommonMark-checked)",
    ),
    "tests/unit/train/test_worker.py": (
        "Faults",
        "training children: SIGKILL and SIGSTOP mid-training (heartbeat timeout), warm worker replaced",
    ),
    "tests/unit/test_security_settings.py": (
        "Security",
        "XSRF/CORS, upload size, pinned safe versions, bomb guard, only the store loads models",
    ),
}


@dataclass
class FileResult:
    """Outcome counts of one test file in a JUnit report."""

    tests: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def read_junit(path: Path) -> dict[str, FileResult]:
    """Group the test cases of a JUnit XML file by test file (``tests/unit/test_x.py``)."""
    results: dict[str, FileResult] = defaultdict(FileResult)
    root = ElementTree.parse(path).getroot()
    for case in root.iter("testcase"):
        # classname is "tests.unit.test_x" (or "tests.unit.test_x.TestClass"): keep up to the module.
        parts = case.get("classname", "").split(".")
        module_end = next((i for i, part in enumerate(parts) if part.startswith("test_")), len(parts) - 1)
        file_name = "/".join(parts[: module_end + 1]) + ".py"
        result = results[file_name]
        result.tests += 1
        result.seconds += float(case.get("time", 0) or 0)
        if case.find("failure") is not None or case.find("error") is not None:
            result.failed += 1
            result.failures.append(case.get("name", "?"))
        elif case.find("skipped") is not None:
            result.skipped += 1
        else:
            result.passed += 1
    return dict(results)


def _load_json(name: str) -> dict:
    path = ARTIFACTS / name
    return json.loads(path.read_text()) if path.is_file() else {}


def _suite_table(results: dict[str, FileResult]) -> list[str]:
    lines = [
        "| Area | Tests | What was tried | Cases | Passed | Failed | Skipped | Time (s) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for file_name, (area, what) in SUITE.items():
        result = results.get(file_name)
        if result is None:
            lines.append(f"| {area} | `{file_name}` | {what} | not run | | | | |")
            continue
        lines.append(
            f"| {area} | `{file_name}` | {what} | {result.tests} | {result.passed} | "
            f"{result.failed} | {result.skipped} | {result.seconds:.1f} |"
        )
    return lines


def _hostile_table(hostile: dict) -> list[str]:
    if not hostile:
        return ["_No hostile-input counts found (run tests/unit/test_hostile_inputs.py)._"]
    by_module: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for name, counts in sorted(hostile.items()):
        # The test names each label's module; a file from before it did has the bare prefix ("spec.layer_table").
        by_module[counts.get("module") or f"cnnviz.{name.split('.', 1)[0]}"].append((name, counts))
    lines = [
        "| Module | Functions | Hostile calls | Sensible result | ValueError with message | Other exception / hang |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    total = {"functions": 0, "calls": 0, "ok": 0, "value_error": 0}
    for module, entries in sorted(by_module.items()):
        calls = sum(counts["calls"] for _, counts in entries)
        ok = sum(counts["ok"] for _, counts in entries)
        value_errors = sum(counts["value_error"] for _, counts in entries)
        other = calls - ok - value_errors
        lines.append(f"| `{module}` | {len(entries)} | {calls:,} | {ok:,} | {value_errors:,} | {other} |")
        total["functions"] += len(entries)
        total["calls"] += calls
        total["ok"] += ok
        total["value_error"] += value_errors
    other_total = total["calls"] - total["ok"] - total["value_error"]
    lines.append(
        f"| **all** | **{total['functions']}** | **{total['calls']:,}** | **{total['ok']:,}** | "
        f"**{total['value_error']:,}** | **{other_total}** |"
    )
    lines.append("")
    lines.append(
        "A call that raised anything other than a `ValueError` (or hung past the pytest timeout) fails its "
        "test, so a non-zero last column can only appear next to a failed row in the table above."
    )
    return lines


def _faults_lines(faults: dict) -> list[str]:
    if not faults:
        return ["_No fault-injection figures found (run tests/unit/core/test_store_faults.py)._"]
    lines = ["| Fault | Figures |", "|---|---|"]
    for name, payload in sorted(faults.items()):
        figures = ", ".join(f"{key}: {value}" for key, value in payload.items() if key != "message")
        lines.append(f"| {name.replace('_', ' ')} | {figures} |")
        if "message" in payload:
            lines.append(f"| | message shown: \"{payload['message']}\" |")
    return lines


def _load_lines(load: dict) -> list[str]:
    if not load:
        return ["_No load-test figures found (run `python benchmarks/load_test.py`)._"]
    command = load.get("command", "python benchmarks/load_test.py")
    lines = [f"Command: `{command}`; measured {load.get('when', '?')}.", ""]
    sessions = load.get("sessions", [])
    if sessions:
        lines += ["| Session | Task | Result | Seconds |", "|---|---|---|---:|"]
        for session in sessions:
            result = " ".join(str(session.get("result")).split())[:120]
            lines.append(
                f"| {session.get('name')} | {session.get('task')} | {result} | "
                f"{session.get('seconds', float('nan')):.1f} |"
            )
        lines.append("")
    for key, value in load.items():
        if key not in {"sessions", "command", "when"}:
            lines.append(f"- **{key.replace('_', ' ')}**: {value}")
    return lines


#: The load test's backends, in the order of the report's columns (``test-artifacts/load_test_<backend>.json``).
LOAD_BACKENDS = ("local", "ray")
def _pair(figure: object) -> str:
    """``"median / p95"`` of a load-test summary (``{"count", "median", "p95", "max"}``), or ``"—"``."""
    if isinstance(figure, dict) and figure.get("count"):
        return f"{figure['median']:.1f} / {figure['p95']:.1f} (n={figure['count']})"
    return "—"


#: The classroom table's rows: (label, how to read it from one backend's figures).
CLASSROOM_ROWS: tuple[tuple[str, Callable[[dict], object]], ...] = (
    ("Browser sessions at once (of them training)",
     lambda f: f"{f.get('sessions_at_once', '?')} ({f.get('trainings_at_once', '?')})"),
    ("Each training", lambda f: f.get("each_training", "?")),
    ("Where trainings ran", lambda f: f.get("trainings_ran_on", "?")),
    ("Queue wait, p50 / p95 (s; the job record on the Train page)", lambda f: _pair(f.get("queue_wait_s"))),
    ("Training wall time, p50 / p95 (s; the page's \"finished in\")", lambda f: _pair(f.get("training_s_on_page"))),
    ("Click on Train to the end on the page, p50 / p95 (s)", lambda f: _pair(f.get("training_click_to_end_s"))),
    ("Sketch prediction latency while training, p50 / p95 (s)",
     lambda f: _pair(f.get("sketch_latency_while_training_s"))),
    ("Server peak RSS (MB)", lambda f: f.get("server_peak_rss_mb", "—")),
    ("Training worker peak RSS, one process / all at one instant (MB)",
     lambda f: f"{f.get('worker_peak_rss_mb', '—')} / {f.get('workers_together_peak_rss_mb', '—')}"),
    ("Trainings finished / refused with a message / failed with a message / lost",
     lambda f: " / ".join(str(f.get("training_outcomes", {}).get(outcome, "?"))
                          for outcome in ("finished", "refused", "failed", "lost"))),
    ("Nothing silently lost; every session without an exception",
     lambda f: f"{'yes' if f.get('nothing_lost') else 'NO'}; {'yes' if f.get('all_sessions_ok') else 'NO'}"),
    ("Phase 1 wall time (s)", lambda f: f.get("phase_1_wall_s", "—")),
)
#: Figures the classroom table shows already (not repeated in each backend's details).
_IN_TABLE = {"sessions_at_once", "trainings_at_once", "each_training", "trainings_ran_on", "queue_wait_s",
             "training_s_on_page", "training_click_to_end_s", "sketch_latency_while_training_s", "server_peak_rss_mb",
             "worker_peak_rss_mb", "workers_together_peak_rss_mb", "training_outcomes", "nothing_lost",
             "all_sessions_ok", "phase_1_wall_s", "backend"}


def _classroom_lines(loads: dict[str, dict]) -> list[str]:
    """One column per backend that has figures, then each backend's command, sessions and other figures."""
    backends = list(loads)
    lines = ["| | " + " | ".join(f"`{name}` backend" for name in backends) + " |",
             "|---|" + "---|" * len(backends)]
    for label, read in CLASSROOM_ROWS:
        lines.append(f"| {label} | " + " | ".join(str(read(loads[name])) for name in backends) + " |")
    for name in backends:
        details = {key: value for key, value in loads[name].items() if key not in _IN_TABLE}
        lines += ["", f"### `{name}` backend: sessions and further figures", "", *_load_lines(details)]
    return lines


def _load_section() -> list[str]:
    """The load test's figures: per backend when ``load_test_<backend>.json`` exist, else an older run's file."""
    loads = {name: _load_json(f"load_test_{name}.json") for name in LOAD_BACKENDS}
    loads = {name: figures for name, figures in loads.items() if figures}
    return _classroom_lines(loads) if loads else _load_lines(_load_json("load_test.json"))


def _shown(paths: list[Path]) -> str:
    if not paths:
        return "no JUnit file"

    def one(path: Path) -> str:
        try:
            return f"`{path.relative_to(REPO)}`"
        except ValueError:
            return f"`{path}`"

    return ", ".join(one(path) for path in paths)


#: The JUnit file ``make test`` writes (every layer, in one run).
MAKE_TEST_JUNIT = ("junit.xml",)


def write_report(junit: Path | list[Path] | None) -> str:
    """Build the Markdown report from the artifacts (one JUnit file or several) and write it to RELIABILITY.md."""
    paths = [path for path in ([junit] if isinstance(junit, Path) else junit or []) if path.is_file()]
    results = {name: result for path in paths for name, result in read_junit(path).items()}
    suite_results = {name: result for name, result in results.items() if name in SUITE}
    failed = sum(result.failed for result in suite_results.values())
    total = sum(result.tests for result in suite_results.values())
    lines = [
        "# Reliability report",
        "",
        "Generated by `python -m tools.reliability_report` from the tests' own output "
        f"({_shown(paths)}, `test-artifacts/*.json`) on "
        f"{datetime.now(UTC).isoformat(timespec='minutes')}. Do not edit by hand.",
        "",
        f"**{total - failed} of {total} reliability test cases passed.**" if total else "**No test results found.**",
        "",
        "## What was tried",
        "",
        *_suite_table(suite_results),
        "",
    ]
    failures = [f"- `{name}`: {', '.join(r.failures)}" for name, r in suite_results.items() if r.failures]
    if failures:
        lines += ["### Failing cases", "", *failures, ""]
    lines += [
        "## Bad input: hostile values per module",
        "",
        *_hostile_table(_load_json("hostile_inputs.json")),
        "",
        "## Faults",
        "",
        *_faults_lines(_load_json("faults.json")),
        "",
        "## Deployment: binding and a reverse proxy",
        "",
        "The studio listens on 127.0.0.1 only (`.streamlit/config.toml`; `test_security_settings` checks the",
        "settings file). Opening it to a network is a deliberate step: `docs/classroom.md` gives an nginx",
        "configuration (TLS, `X-Frame-Options`/CSP `frame-ancestors`, optional basic authentication, the",
        "WebSocket upgrade) and records what was checked by hand on loopback (redirect to HTTPS, 401 without",
        "the password, the headers, the WebSocket refused for a foreign origin, pages rendered in Chromium",
        "through the proxy) and what was not. That check is by hand, not one of the tests above.",
        "",
        "## Load: one server, a classroom of sessions",
        "",
        *_load_section(),
        "",
    ]
    text = "\n".join(lines)
    REPORT.write_text(text, encoding="utf-8")
    return text


def run_suite() -> Path:
    """Run the reliability test files with pytest, writing JUnit XML; return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    for stale in ("hostile_inputs.json", "faults.json"):  # the tests rewrite them; drop old runs' figures
        (ARTIFACTS / stale).unlink(missing_ok=True)
    junit = ARTIFACTS / "reliability.xml"
    files = [name for name in SUITE if (REPO / name).is_file()]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *files]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=False)
    return junit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="run the reliability tests first")
    parser.add_argument("--junit", type=Path, help="JUnit XML to read (default: the latest in test-artifacts/)")
    arguments = parser.parse_args()
    if arguments.run:
        junit = run_suite()
    elif arguments.junit:
        junit = arguments.junit.resolve()
    else:
        # The newest results: the reliability run's, or make test's.
        make_test = [ARTIFACTS / name for name in MAKE_TEST_JUNIT if (ARTIFACTS / name).is_file()]
        reliability = ARTIFACTS / "reliability.xml"
        newest_make_test = max((path.stat().st_mtime for path in make_test), default=-1.0)
        if reliability.is_file() and reliability.stat().st_mtime >= newest_make_test:
            junit = reliability
        else:
            junit = make_test or None
    text = write_report(junit)
    print(text)


if __name__ == "__main__":
    main()
