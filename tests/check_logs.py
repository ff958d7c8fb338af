#!/usr/bin/env python3
"""Looks for secrets and personal data in the logs the end-to-end tests kept.

Usage: check_logs.py DIR

DIR is `target/test-logs`: one file per process the tests ran (the vault,
its commands, scanner-ingest), at RUST_LOG=trace, and `values.tsv`, the
values the tests created and no log may hold (tokens, applicant
identifiers and codes, numéros uniques, key files, the marker every test
document carries, the upload's file name). Besides those, anything shaped
like an e-mail address, a vault token or a numéro unique is a hit.

Exit status 1 on any hit (each printed with its file and line, the value
cut short), 2 when there is nothing to check. Before reading the logs it
checks itself on a made-up log that holds one of each, so a checker that
could not find anything would fail here rather than pass.
"""

import os
import re
import sys

PATTERNS = {
    "e-mail address": re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "vault token": re.compile(rb"dnuv_[A-Za-z0-9_-]{16,}"),
    # Territory (3), MMAA, sequence (6), guichet code (5). Not the state of
    # the AWS SDK's random generator, which its trace prints as
    # `Rng(855038433503094589)`: 18 digits can have the shape.
    "numéro unique": re.compile(rb"(?<![0-9A-Za-z])(?<!Rng\()[0-9A-Z]{3}(?:0[1-9]|1[0-2])[0-9]{2}[0-9]{6}[0-9A-Z]{5}(?![0-9A-Za-z])"),
}


def load_values(path):
    values = {}
    with open(path, "rb") as f:
        for line in f:
            kind, _, value = line.rstrip(b"\n").partition(b"\t")
            if len(value) >= 8:
                values.setdefault(value, kind.decode("utf-8", "replace"))
    return values


def hits_in(name, data, values):
    """Every (kind, shown value, line number) found in one log's bytes."""
    found = []
    for value, kind in values.items():
        at = data.find(value)
        if at >= 0:
            found.append((kind, value, data.count(b"\n", 0, at) + 1))
    for kind, pattern in PATTERNS.items():
        m = pattern.search(data)
        if m:
            found.append((kind, m.group(0), data.count(b"\n", 0, m.start()) + 1))
    return [(name, kind, shown(value), line) for kind, value, line in found]


def shown(value):
    text = value.decode("utf-8", "replace")
    return text[:6] + "…" if len(text) > 6 else text


def self_check(values):
    kinds = sorted(set(values.values()))
    sample = dict(values)
    made_up = b"\n".join(
        [b"2026-12-03T10:00:00Z INFO request finished"]
        + [b"DEBUG leaked " + v for v in list(sample)[:50]]
        + [b"DEBUG mail to marie.dupont@exemple.fr", b"TRACE token dnuv_abcdefghijklmnopqrstu",
           b"DEBUG dossier 059122600000159183"]
    )
    got = hits_in("self-check", made_up, dict(list(sample.items())[:50]))
    expected = min(len(sample), 50) + len(PATTERNS)
    if len(got) < expected:
        sys.exit(f"check_logs.py cannot find what it looks for: {len(got)} of {expected} planted values found")
    clean = hits_in("self-check", b"INFO request finished status=200 route=/api/v1/dossiers/{nu}\n", values)
    if clean:
        sys.exit(f"check_logs.py finds values in a clean line: {clean}")
    return kinds


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    values_path = os.path.join(root, "values.tsv")
    if not os.path.exists(values_path):
        print(f"check_logs.py: no {values_path}: no end-to-end test recorded its values", file=sys.stderr)
        sys.exit(2)
    values = load_values(values_path)
    kinds = self_check(values)
    logs = sorted(f for f in os.listdir(root) if f.endswith(".log"))
    if not logs:
        print(f"check_logs.py: no log under {root}", file=sys.stderr)
        sys.exit(2)
    size = 0
    hits = []
    for name in logs:
        with open(os.path.join(root, name), "rb") as f:
            data = f.read()
        size += len(data)
        hits.extend(hits_in(name, data, values))
    print(
        f"logs: {len(logs)} files, {size / 1048576:.1f} MiB at RUST_LOG=trace; "
        f"{len(values)} values the tests used ({', '.join(kinds)}) and {len(PATTERNS)} shapes "
        f"({', '.join(PATTERNS)}) looked for: {len(hits)} found"
    )
    for name, kind, value, line in hits[:40]:
        print(f"  {name}:{line}: {kind} {value}")
    sys.exit(1 if hits else 0)


if __name__ == "__main__":
    main()
