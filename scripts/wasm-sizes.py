#!/usr/bin/env python3
"""What a WASM module's code is made of: the size of each function's body, summed by crate.

    scripts/wasm-sizes.py MODULE.wasm [--top N] [--generic]

MODULE must keep its names section: the cdylib cargo writes, before wasm-bindgen and wasm-opt,
e.g. for the dashboard's bundle:

    RUSTFLAGS="--cfg erase_components" cargo build -p app --lib --target wasm32-unknown-unknown \
        --profile wasm-release --no-default-features --features hydrate
    scripts/wasm-sizes.py target/wasm32-unknown-unknown/wasm-release/app.wasm

The sizes are before wasm-opt (which shrinks the whole by about a third), so read them as
shares. `--generic` sums by function with generic arguments erased instead: how many copies of
one generic function the types made, and what they cost together.
"""

import argparse
import collections
import re
import sys


def leb128(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def functions(data):
    """(body size, name) of every function defined in the module."""
    if data[:4] != b"\0asm":
        sys.exit("not a WASM module")
    at, imported, bodies, names = 8, 0, [], {}
    while at < len(data):
        section = data[at]
        size, at = leb128(data, at + 1)
        end = at + size
        if section == 2:  # imports: functions among them take the first indices
            count, p = leb128(data, at)
            for _ in range(count):
                for _field in range(2):
                    length, p = leb128(data, p)
                    p += length
                kind = data[p]
                p += 1
                if kind == 0:
                    _, p = leb128(data, p)
                    imported += 1
                elif kind == 1:  # table: element type, limits
                    flags, p = leb128(data, p + 1)
                    _, p = leb128(data, p)
                    if flags & 1:
                        _, p = leb128(data, p)
                elif kind == 2:  # memory: limits
                    flags, p = leb128(data, p)
                    _, p = leb128(data, p)
                    if flags & 1:
                        _, p = leb128(data, p)
                elif kind == 3:  # global: type, mutability
                    p += 2
        elif section == 10:  # code
            count, p = leb128(data, at)
            for _ in range(count):
                length, body = leb128(data, p)
                bodies.append(body - p + length)
                p = body + length
        elif section == 0:  # custom: the "name" section's function names
            length, p = leb128(data, at)
            if data[p : p + length] == b"name":
                p += length
                while p < end:
                    subsection = data[p]
                    subsize, p = leb128(data, p + 1)
                    if subsection == 1:
                        count, q = leb128(data, p)
                        for _ in range(count):
                            index, q = leb128(data, q)
                            length, q = leb128(data, q)
                            names[index] = data[q : q + length].decode("utf-8", "replace")
                            q += length
                    p += subsize
        at = end
    if not names:
        sys.exit("the module has no names section (take the one cargo writes, before wasm-opt)")
    return [(size, demangle(names.get(imported + i, f"func{i}"))) for i, size in enumerate(bodies)]


ESCAPES = [("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$C$", ","), ("$BP$", "*"),
           ("$u7b$", "{"), ("$u7d$", "}"), ("$u5b$", "["), ("$u5d$", "]"), ("$u27$", "'"), ("..", "::")]


def demangle(name):
    """Rust's legacy mangling (`_ZN…E`), enough to read crate paths; others as they are."""
    if not name.startswith("_ZN"):
        return name
    at, parts = 3, []
    while at < len(name) and name[at].isdigit():
        digits = at
        while name[at].isdigit():
            at += 1
        length = int(name[digits:at])
        parts.append(name[at : at + length])
        at += length
    text = "::".join(parts)
    for escape, plain in ESCAPES:
        text = text.replace(escape, plain)
    return re.sub(r"::h[0-9a-f]{16}$", "", text).lstrip("_")


GENERIC_SELF = {"T", "F", "C", "V", "A", "S", "R", "I", "K", "Fut"}


def crate(name):
    """The crate a function's code comes from: its path's first part, or for `<Type as Trait>`
    the type's crate (the trait's, marked, when the type is a bare generic)."""
    if name.startswith("<"):
        first = re.match(r"<(?:&(?:mut )?)?([A-Za-z_]\w*)", name)
        if first and first.group(1) not in GENERIC_SELF:
            return first.group(1)
        trait = re.search(r" as ([A-Za-z_]\w*)", name)
        return (trait.group(1) if trait else "?") + " (trait impls)"
    first = re.match(r"([A-Za-z_]\w*)", name)
    return first.group(1) if first else "?"


def without_generics(name):
    name = name.replace("{{closure}}", "{closure}")
    for _ in range(6):
        name = re.sub(r"<[^<>]*>", "<…>", name)
    return name[:140]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("module")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--generic", action="store_true", help="sum by generic function instead of by crate")
    args = parser.parse_args()
    with open(args.module, "rb") as file:
        found = functions(file.read())
    total = sum(size for size, _ in found)
    print(f"{total:,} bytes of code in {len(found):,} functions")
    sums, copies = collections.Counter(), collections.Counter()
    for size, name in found:
        key = without_generics(name) if args.generic else crate(name)
        sums[key] += size
        copies[key] += 1
    for key, size in sums.most_common(args.top):
        print(f"{size:9,} {100 * size / total:5.1f}%  x{copies[key]:<5} {key}")


if __name__ == "__main__":
    main()
