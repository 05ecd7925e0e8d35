#!/bin/sh
# Source hygiene: commit subjects (scripts/commit-msg), every integration case folder is
# registered in tests/cases/meson.build, the include graph of src/ has no cycle and no include
# of a higher layer (tools/layers), every hand mutation still edits the code it names
# (tools/mutate --check), every rule of the pack is named in docs/KNOWLEDGE.md and in README.md's
# "What it finds" and neither names a rule the pack lacks (tools/knowledge-check), and the C
# sources match .clang-format when clang-format is installed.
set -u
root=$1
status=0
for dir in "$root"/tests/cases/*/; do
    name=$(basename "$dir")
    if ! grep -q "'$name'" "$root/tests/cases/meson.build"; then
        echo "tests/cases/$name is not listed in tests/cases/meson.build"
        status=1
    fi
done
# Commit subjects since the check began: `area: summary`, at most 72 characters.
base=4700a6e7c8717ffa739b44df8105e0f761c1f331
if git -C "$root" cat-file -e "$base^{commit}" 2>/dev/null; then
    (cd "$root" && scripts/commit-msg --since "$base") || status=1
else
    echo "# not a git checkout with its history: commit subjects not checked"
fi
python3 "$root/tools/layers" --strict "$root/src" >/dev/null || {
    python3 "$root/tools/layers" --strict "$root/src"
    status=1
}
"$root/tools/mutate" --check || status=1
python3 "$root/tools/knowledge-check" "$root" || status=1
if command -v clang-format >/dev/null 2>&1; then
    if ! clang-format --dry-run --Werror "$root"/src/*/*.c "$root"/src/*/*.h "$root"/tests/unit/*.[ch] "$root"/tests/fuzz/*.[ch] "$root"/tools/*.c; then
        echo "clang-format: run 'clang-format -i src/*/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] tools/*.c'"
        status=1
    fi
else
    echo "# clang-format not installed: formatting not checked"
fi
exit $status
