"""The mutation score of the rule modules, from mutmut's results (make mutation; docs/mutation.md).

    python -m tests.mutation_report [--threshold 95] [--all]

Reads the `.meta` files mutmut leaves under mutants/ for each rule module, and the named
equivalent mutants of tests/mutation_equivalents.txt. Per module and overall it prints

    score = killed / (total − listed equivalents)

where a mutant counts as killed when a test failed, timed out or crashed under it. Every
survivor that is not listed as an equivalent is printed by name (`mutmut show NAME` gives its
diff). Exits 1 when a module or the whole falls below the threshold (95 % by default), or when
an equivalent named in the file is no mutant of the run (a stale line), or has been killed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants" / "src" / "nodedc_gateway" / "domain"
EQUIVALENTS = Path(__file__).resolve().parent / "mutation_equivalents.txt"
RULE_MODULES = (
    "evaluation",
    "scopes",
    "grants",
    "tokens",
    "pairing",
    "idempotency",
    "audit",
    "ratelimit",
)

# mutmut's exit codes (mutmut.stats.status_by_exit_code): 1 and 3 a failing test; the
# timeouts and the crashes end the mutant's run too, so they count as detected.
KILLED = {1, 3, 24, -24, 152, 255, 36, -11, -9, 37}
NOT_CHECKED = {None, 2}


@dataclass
class ModuleScore:
    name: str
    total: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    @property
    def considered(self) -> int:
        return self.total - self.equivalent

    @property
    def score(self) -> float:
        return 100.0 if self.considered == 0 else 100.0 * self.killed / self.considered


def read_equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """`mutant name — reason`, one a line; blank lines and `#` comments are skipped."""
    equivalents: dict[str, str] = {}
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, dash, reason = line.partition(" — ")
        if not dash or not reason.strip():
            raise SystemExit(f"{path.name}:{number}: expected `mutant name — reason`")
        equivalents[name.strip()] = reason.strip()
    return equivalents


def score_module(name: str, equivalents: dict[str, str], stale: set[str]) -> ModuleScore:
    meta = MUTANTS / f"{name}.py.meta"
    result = ModuleScore(name)
    if not meta.exists():
        return result
    exit_codes: dict[str, int | None] = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
    for mutant, code in sorted(exit_codes.items()):
        result.total += 1
        if mutant in equivalents:
            stale.discard(mutant)
            if code in KILLED:
                result.killed += 1
                print(f"  listed as equivalent but killed: {mutant}")
                stale.add(mutant)
            else:
                result.equivalent += 1
        elif code in KILLED:
            result.killed += 1
        elif code in NOT_CHECKED:
            result.unchecked.append(mutant)
        else:
            result.survivors.append(mutant)
    return result


def row(s: ModuleScore) -> str:
    return f"{s.name:<12} {s.killed:>7} {s.total:>6} {s.equivalent:>6} {s.score:>7.1f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=95.0)
    parser.add_argument("--all", action="store_true", help="also list the equivalents")
    args = parser.parse_args(argv)

    equivalents = read_equivalents()
    stale = set(equivalents)
    scores = [score_module(name, equivalents, stale) for name in RULE_MODULES]
    if all(s.total == 0 for s in scores):
        print("no mutmut results under mutants/: run `make mutation` first")
        return 1

    failing = False
    print(f"{'module':<12} {'killed':>7} {'total':>6} {'equiv':>6} {'score':>8}  unchecked")
    for s in scores:
        below = bool(s.total) and s.score < args.threshold
        failing |= below or bool(s.unchecked)
        note = f"{len(s.unchecked) or ''}{'  < threshold' if below else ''}"
        print(f"{row(s)}  {note}")
    whole = ModuleScore(
        "overall",
        total=sum(s.total for s in scores),
        killed=sum(s.killed for s in scores),
        equivalent=sum(s.equivalent for s in scores),
    )
    print(row(whole))
    failing |= whole.score < args.threshold

    survivors = [m for s in scores for m in s.survivors]
    if survivors:
        print(f"\n{len(survivors)} surviving mutants, neither killed nor listed as equivalent:")
        for mutant in survivors:
            print(f"  {mutant}")
    unchecked = [m for s in scores for m in s.unchecked]
    if unchecked:
        print(f"\n{len(unchecked)} mutants not checked yet (the run was cut short?)")
    if args.all:
        print("\nequivalent mutants:")
        for mutant, reason in sorted(equivalents.items()):
            print(f"  {mutant} — {reason}")
    if stale:
        failing = True
        print("\nlisted in mutation_equivalents.txt but no surviving mutant of this run:")
        for mutant in sorted(stale):
            print(f"  {mutant}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
