#!/usr/bin/env bash
# Installs the linux/amd64 release tarball into a temporary prefix as a user would, then
# checks that the checksum matches, that `mqttx --version` runs and that the bash
# completion script completes.
#
#   scripts/release-check.sh DIST             check the tarball in DIST (make snapshot: dist)
#   scripts/release-check.sh --single-target  first build a snapshot of linux/amd64 alone,
#                                             with .goreleaser.yaml otherwise unchanged (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "release-check: $*" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "${1:-}" = --single-target ]; then
	# goreleaser has no single-target release, so narrow the build matrix in a copy of
	# the config; fail rather than build all six if the lines have changed.
	config=$tmp/goreleaser.yaml
	sed -e 's/^    goos: \[linux, darwin, windows\]$/    goos: [linux]/' \
		-e 's/^    goarch: \[amd64, arm64\]$/    goarch: [amd64]/' .goreleaser.yaml >"$config"
	[ "$(diff .goreleaser.yaml "$config" | grep -c '^>')" -eq 2 ] ||
		fail "cannot narrow .goreleaser.yaml's goos/goarch lines to linux/amd64: update this script"
	echo "dist: $tmp/dist" >>"$config"
	# The cask needs the macOS archives too.
	go tool goreleaser release --snapshot --clean --skip=homebrew -f "$config"
	dist=$tmp/dist
else
	dist=${1:-dist}
fi

shopt -s nullglob
tarballs=("$dist"/mqttx_*_linux_amd64.tar.gz)
[ ${#tarballs[@]} -eq 1 ] || fail "want one linux/amd64 tarball in $dist, found ${#tarballs[@]}"
tarball=${tarballs[0]}
(cd "$dist" && sha256sum --quiet --ignore-missing -c checksums.txt) || fail "checksums.txt does not match"

prefix=$tmp/prefix
mkdir "$tmp/x"
tar -xzf "$tarball" -C "$tmp/x"
for f in mqttx README.md LICENSE completions/mqttx.bash completions/mqttx.zsh completions/mqttx.fish \
	completions/mqttx.ps1 man/mqttx.1 man/mqttx-pub.1; do
	[ -f "$tmp/x/$f" ] || fail "$(basename "$tarball") lacks $f"
done
install -Dm755 "$tmp/x/mqttx" "$prefix/bin/mqttx"
install -Dm644 "$tmp/x/completions/mqttx.bash" "$prefix/share/bash-completion/completions/mqttx"
install -Dm644 -t "$prefix/share/man/man1" "$tmp/x"/man/*.1
export PATH="$prefix/bin:$PATH"

# --version: version, commit and build date, from the release's ldflags.
version=$(cd "$tmp" && mqttx --version)
echo "$version"
grep -Eq '^mqttx v[0-9]+\.[0-9]+\.[0-9]+' <<<"$version" || fail "--version has no release version"
grep -Eq '^commit [0-9a-f]{40}$' <<<"$version" || fail "--version has no commit"
grep -Eq '^built [0-9]{4}-[0-9]{2}-[0-9]{2}T' <<<"$version" || fail "--version has no build date"

# Completion through bash as Tab would call it: load bash-completion (the scripts need it,
# as every distribution's bash setup has it), source the installed script, then call its
# completion function with the words typed so far and read COMPREPLY.
bash_completion=/usr/share/bash-completion/bash_completion
[ -f "$bash_completion" ] || fail "$bash_completion missing: install the bash-completion package"
complete_words() {
	bash --norc --noprofile -c '
		source '"$bash_completion"'
		script=$1; shift
		source "$script"
		compopt() { :; } # outside a real completion, bash refuses it
		complete -p mqttx >/dev/null || exit 1
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		__start_mqttx mqttx "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' _ "$prefix/share/bash-completion/completions/mqttx" "$@"
}
got=$(complete_words mqttx pub --pro)
grep -q '^--profile' <<<"$got" && grep -q '^--protocol' <<<"$got" ||
	fail "mqttx pub --pro<Tab> gave: $got"
got=$(complete_words mqttx sub -V 3.1.)
[ "$got" = "3.1.1" ] || fail "mqttx sub -V 3.1.<Tab> gave: $got"
got=$(complete_words mqttx comp)
[ "$got" = "completion" ] || fail "mqttx comp<Tab> gave: $got"

echo "release-check: $(basename "$tarball") installs; --version and bash completion work"
