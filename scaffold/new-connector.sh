#!/bin/sh
# Creates a new connector from the template in scaffold/connector/:
#   scaffold/new-connector.sh NAME      (run from the repository root; `make new-connector NAME=...`)
# It adds wit/NAME/, components/NAME/ and tests/vendors/NAME/ (the component with
# one action, its simulator, fixture, specification and test) and records the new
# crate in Cargo.lock. Nothing else changes: the workspace, the Makefile, the
# simulator registry and the tests find vendors by directory.
set -eu

name=${1:-}
template=scaffold/connector
usage() { echo "usage: $0 NAME   (lower-case letters and digits, starting with a letter, at most 40)" >&2; exit 2; }

[ -n "$name" ] || usage
case $name in
    *[!a-z0-9]* | [!a-z]*) echo "error: connector name '$name': use lower-case letters and digits, starting with a letter" >&2; usage ;;
esac
[ ${#name} -le 40 ] || { echo "error: connector name '$name' is longer than 40 characters" >&2; usage; }
# Names the module tree or the workspace already uses.
case " connector sdk as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move mut pub ref return self static struct super trait true type unsafe use where while " in
    *" $name "*) echo "error: connector name '$name' is reserved" >&2; usage ;;
esac
[ -d "$template" ] || { echo "error: run from the repository root (no $template here)" >&2; exit 2; }
for dir in "wit/$name" "components/$name" "tests/vendors/$name"; do
    [ ! -e "$dir" ] || { echo "error: $dir already exists: nothing was changed" >&2; exit 1; }
done

# The type name: the first letter in upper case.
type=$(printf '%s' "$name" | cut -c1 | tr a-z A-Z)$(printf '%s' "$name" | cut -c2-)

# Everything is written to a staging directory first and moved into place at the
# end, so a failure leaves nothing half-made.
staging=$(mktemp -d .new-connector.XXXXXX)
trap 'rm -rf "$staging"' EXIT
(cd "$template" && find . -type f) | sort | while read -r file; do
    target="$staging/$(printf '%s' "${file#./}" | sed "s/acme/$name/g")"
    mkdir -p "$(dirname "$target")"
    sed "s/acme/$name/g; s/Acme/$type/g" "$template/$file" > "$target"
done
mkdir -p tests/vendors
mv "$staging/wit/$name" wit/
mv "$staging/components/$name" components/
mv "$staging/tests/vendors/$name" tests/vendors/

# The workspace has a new member: record it in the lock file (no other change).
# `fetch` for this machine's target needs only crates the build already has
# (`metadata` would want every platform's, Android's and Windows' included).
${CARGO:-cargo} fetch --offline --quiet --target "$(rustc -vV | sed -n 's/^host: //p')"

echo "created the $type connector:"
find "wit/$name" "components/$name" "tests/vendors/$name" -type f | sort | sed 's/^/  /'
echo "next: describe its actions in wit/$name/$name.wit, implement them in components/$name/src/lib.rs,"
echo "serve them in tests/vendors/$name/sim/, test them in tests/vendors/$name/e2e/; make test builds, signs and runs it."
