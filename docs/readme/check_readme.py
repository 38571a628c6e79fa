"""Every ```cpp block of README.md follows a line `<!-- compiled: <file> -->` and equals that file with its
`// [checks]` ... `// [/checks]` lines left out, so the README shows programs that CTest builds and runs.

Usage: check_readme.py <README.md> <source dir>
"""
import pathlib
import re
import sys

readme, root = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
text = readme.read_text(encoding="utf-8")
errors, seen = [], 0
for m in re.finditer(r"^([^\n]*)\n```cpp\n(.*?)^```$", text, flags=re.M | re.S):
    line = text.count("\n", 0, m.start(2))
    marker = re.fullmatch(r"<!-- compiled: (\S+) -->", m.group(1))
    if not marker:
        errors.append(f"README.md:{line}: a ```cpp block without a `<!-- compiled: file -->` line above it")
        continue
    program = (root / marker.group(1)).read_text(encoding="utf-8")
    shown = re.sub(r"^[ ]*// \[checks\].*?^[ ]*// \[/checks\][^\n]*\n", "", program, flags=re.M | re.S)
    if shown != m.group(2):
        errors.append(f"README.md:{line}: the block differs from {marker.group(1)} without its [checks] lines")
    seen += 1
if errors:
    sys.exit("\n".join(errors))
print(f"README.md: {seen} compiled blocks, each equal to its program")
