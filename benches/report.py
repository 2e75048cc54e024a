#!/usr/bin/env python3
"""Regenerates the result tables of BENCHMARKS.md from criterion's output.

Usage:
    python3 benches/report.py TARGET_DIR/criterion               # print the tables
    python3 benches/report.py TARGET_DIR/criterion --update BENCHMARKS.md

With --update, the text between the `<!-- results:begin -->` and `<!-- results:end -->`
markers is replaced. One table per criterion group: the median time of each engine and, for
the peers, their median divided by Warrant's (above 1 means Warrant is faster).
"""
import argparse
import json
import pathlib
import re
import sys

PEERS = ("regorus", "cedar")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def load(criterion_dir):
    """{group: {parameter: {function: (median_ns, elements_per_iteration or None)}}}."""
    groups = {}
    for bench_file in sorted(pathlib.Path(criterion_dir).glob("**/new/benchmark.json")):
        bench = json.loads(bench_file.read_text())
        estimates = json.loads((bench_file.parent / "estimates.json").read_text())
        median_ns = estimates["median"]["point_estimate"]
        elements = (bench.get("throughput") or {}).get("Elements")
        parameter = bench.get("value_str") or ""
        groups.setdefault(bench["group_id"], {}).setdefault(parameter, {})[bench["function_id"]] = (median_ns, elements)
    return groups


def duration(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def rate(per_second):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if per_second >= scale:
            return f"{per_second / scale:.3g} {unit}/s"
    return f"{per_second:.3g} /s"


def ratio(value):
    return f"{value:.0f}×" if value >= 100 else f"{value:.3g}×"


def parameter_order(parameter):
    """Numeric parameters in numeric order, others alphabetically after them."""
    return (0, int(parameter), "") if re.fullmatch(r"\d+", parameter) else (1, 0, parameter)


def function_order(function):
    if function == "warrant":
        return (0, function)
    if function.startswith("warrant"):
        return (1, function)
    return (2 + PEERS.index(function) if function in PEERS else 9, function)


def table(group, rows):
    functions = sorted({f for results in rows.values() for f in results}, key=function_order)
    peers = [f for f in functions if f in PEERS]
    header = ["", *functions, *[f"{p} / warrant" for p in peers]]
    lines = [f"### {group}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for parameter in sorted(rows, key=parameter_order):
        results = rows[parameter]
        cells = [parameter or "-"]
        for function in functions:
            if function not in results:
                cells.append("")
                continue
            median_ns, elements = results[function]
            cell = duration(median_ns)
            if elements:
                cell += f" ({rate(elements * 1e9 / median_ns)})"
            cells.append(cell)
        warrant = results.get("warrant")
        for peer in peers:
            cells.append(ratio(results[peer][0] / warrant[0]) if warrant and peer in results else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(groups):
    return "\n\n".join(table(group, groups[group]) for group in sorted(groups)) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("criterion_dir", help="criterion output, e.g. target/criterion")
    parser.add_argument("--update", metavar="MARKDOWN", help="replace the results section of this file")
    args = parser.parse_args()
    groups = load(args.criterion_dir)
    if not groups:
        sys.exit(f"no criterion results under {args.criterion_dir}")
    tables = render(groups)
    if not args.update:
        print(tables, end="")
        return
    path = pathlib.Path(args.update)
    text = path.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"{path}: missing {BEGIN} / {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{tables}{END}{tail}")


if __name__ == "__main__":
    main()
