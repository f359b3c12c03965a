#!/usr/bin/env bash
# tst_package BUILD_DIR SOURCE_DIR: builds the .deb from an already built tree with CPack and
# checks what a technician gets: the control fields, the file list, that dlmsctl runs from an
# unpacked copy, the desktop file, the AppStream metainfo and lintian (errors fail, warnings are
# printed). Exits 77, which ctest reports as skipped, when one of the tools is missing.
set -euo pipefail

build=${1:?usage: tst_package.sh BUILD_DIR SOURCE_DIR}
source=${2:?usage: tst_package.sh BUILD_DIR SOURCE_DIR}

for tool in cpack dpkg-deb dpkg-shlibdeps desktop-file-validate appstreamcli lintian readelf; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed (.ci/deps installs it)"
        exit 77
    fi
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
step() { # elapsed seconds at each step, since the whole test must stay within seconds
    echo "-- $1 (${SECONDS}s so far)"
}

expected_version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$expected_version" ] || fail "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"

step "cpack"
if ! cpack --config "$build/CPackConfig.cmake" -B "$scratch/out" >"$scratch/cpack.log" 2>&1; then
    cat "$scratch/cpack.log"
    echo "FAIL: cpack did not build the package"
    exit 1
fi
shopt -s nullglob
debs=("$scratch"/out/dlmsbridge_*.deb)
shopt -u nullglob
if [ "${#debs[@]}" -ne 1 ]; then
    cat "$scratch/cpack.log"
    echo "FAIL: expected one dlmsbridge_*.deb, found ${#debs[@]}"
    exit 1
fi
deb=${debs[0]}
echo "package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"

step "control fields"
dpkg-deb --info "$deb"
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = dlmsbridge ] || fail "Package is '$(field Package)'"
[ "$(field Version)" = "$expected_version" ] || fail "Version '$(field Version)' is not the project's $expected_version"
depends=$(field Depends)
# dpkg-shlibdeps' share (Qt, libmosquitto, OpenSSL) and the plugins it cannot see.
for dep in libqt6core6 libqt6widgets6 libmosquitto1 libssl3 qt6-qpa-plugins libqt6sql6-sqlite libqt6svg6; do
    grep -Eq "(^|, )$dep( |,|$)" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
grep -Eq '(^|, )mosquitto( |,|$)' <<<"$(field Suggests)" || fail "Suggests lacks mosquitto"
# The changelog's top entry is what `dpkg-parsechangelog` and lintian read as this version.
changelog_version=$(sed -n '1s/^dlmsbridge (\([^)]*\)).*/\1/p' "$source/packaging/deb/changelog")
[ "$changelog_version" = "$expected_version" ] ||
    fail "packaging/deb/changelog's top entry is $changelog_version, the project is $expected_version (add an entry)"

step "contents"
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|' >"$scratch/contents.txt"
app=io.github.dlmsbridge.DlmsBridge
for path in /usr/bin/dlmsctl /usr/bin/dlmsbridge \
    /usr/share/applications/$app.desktop /usr/share/metainfo/$app.metainfo.xml \
    /usr/share/man/man1/dlmsctl.1.gz /usr/share/man/man1/dlmsbridge.1.gz \
    /usr/lib/systemd/system/dlmsbridge.service /usr/lib/sysusers.d/dlmsbridge.conf \
    /usr/share/doc/dlmsbridge/examples/dlmsbridge.example.json /usr/share/doc/dlmsbridge/README.md \
    /usr/share/doc/dlmsbridge/copyright /usr/share/doc/dlmsbridge/changelog.gz; do
    grep -qxF "$path" "$scratch/contents.txt" || fail "the package lacks $path"
done
grep -Eq '^/usr/share/icons/hicolor/scalable/apps/[^/]+\.svg$' "$scratch/contents.txt" ||
    fail "the package has no scalable hicolor icon"
grep -Eq '^/usr/share/icons/hicolor/[0-9]+x[0-9]+/apps/[^/]+\.png$' "$scratch/contents.txt" ||
    fail "the package has no sized hicolor icons"
if grep -E '/(tst_|bench_|fuzz_)[^/]*$' "$scratch/contents.txt"; then
    fail "test, benchmark or fuzz files are in the package (above)"
fi
# Build-time helpers (the icon renderer) and tests must not slip in as programs.
programs=$(grep -E '^/usr/bin/[^/]+$' "$scratch/contents.txt" | sort | tr '\n' ' ')
[ "$programs" = "/usr/bin/dlmsbridge /usr/bin/dlmsctl " ] || fail "programs in /usr/bin: $programs"

step "dpkg -x"
root=$scratch/root
dpkg -x "$deb" "$root"
for binary in "$root"/usr/bin/*; do
    # The build tree's RPATH must be gone: an installed program finds its libraries in /usr/lib.
    if readelf -d "$binary" | grep -E 'RPATH|RUNPATH'; then
        fail "$(basename "$binary") keeps an RPATH/RUNPATH"
    fi
    if readelf -S "$binary" | grep -q '\.debug_info'; then
        fail "$(basename "$binary") is not stripped"
    fi
done
mkdir -p "$scratch/home"
if version_output=$(HOME=$scratch/home XDG_CONFIG_HOME=$scratch/home XDG_DATA_HOME=$scratch/home \
    "$root/usr/bin/dlmsctl" --version 2>&1); then
    echo "$version_output"
    grep -qF "$expected_version" <<<"$version_output" ||
        fail "dlmsctl --version does not print $expected_version"
else
    echo "$version_output"
    fail "the unpacked dlmsctl --version failed"
fi

step "desktop-file-validate"
desktop=$root/usr/share/applications/$app.desktop
if [ -f "$desktop" ]; then
    desktop-file-validate "$desktop" || fail "desktop-file-validate $app.desktop"
    # The icon the menu shows must be one the package installs.
    icon=$(sed -n 's/^Icon=//p' "$desktop" | head -n 1)
    grep -Eq "^/usr/share/icons/hicolor/[^/]+/apps/$icon\.(svg|png)$" "$scratch/contents.txt" ||
        fail "the desktop file's Icon=$icon is not a hicolor icon of the package"
fi

step "appstreamcli validate"
metainfo=$root/usr/share/metainfo/$app.metainfo.xml
if [ -f "$metainfo" ]; then
    appstreamcli validate --no-net --explain "$metainfo" || fail "appstreamcli validate $app.metainfo.xml"
fi

step "lintian"
# Errors fail the test; warnings and info are printed for the reader. As root (CI containers)
# lintian only warns that it would rather not be; its temporary files go to the scratch directory.
if TMPDIR=$scratch lintian --fail-on error --display-info --tag-display-limit 0 "$deb" \
    >"$scratch/lintian.txt" 2>&1; then
    echo "lintian: no errors"
else
    fail "lintian reports errors"
fi
cat "$scratch/lintian.txt"

step "done"
if [ "$failures" -ne 0 ]; then
    echo "tst_package: $failures check(s) failed"
    exit 1
fi
echo "tst_package: the package is fine"
