"""Griffe extension: read the library's docstrings the way they are written.

The docstrings follow the project's style (DESIGN.md): ``Example:`` sections
with doctest lines, and small reStructuredText "simple tables" of network
sizes. Griffe's Google parser knows only ``Examples:`` and would render the
doctest lines as Markdown quotes; the tables would run together into one
paragraph. This extension renames the section and fences each table as
preformatted text, leaving the source files untouched.
"""

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$")
_RULE = re.compile(r"^\s*=+(\s+=+)+\s*$")


def _fence_tables(lines):
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        # A simple table is three rule lines: top, under the header, bottom.
        if _RULE.match(line):
            rules, j = [i], i + 1
            while j < len(lines) and len(rules) < 3:
                if _RULE.match(lines[j]):
                    rules.append(j)
                elif not lines[j].strip():
                    break
                j += 1
            if len(rules) == 3:
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f"{indent}```text")
                out.extend(lines[i : rules[2] + 1])
                out.append(f"{indent}```")
                i = rules[2] + 1
                continue
        out.append(line)
        i += 1
    return out


class ProjectDocstrings(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is None:
            return
        lines = [_EXAMPLE.sub(r"\1Examples:", line) for line in obj.docstring.value.split("\n")]
        obj.docstring.value = "\n".join(_fence_tables(lines))
