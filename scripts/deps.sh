#!/usr/bin/env bash
# shellcheck shell=bash
# Sourced by scripts/run and scripts/test: makes sure the Debian packages that
# mailscope needs to build (and to test) are installed.
#
#   . scripts/deps.sh
#   ensure_packages "${MS_BUILD_PACKAGES[@]}"
#
# Installs missing packages with apt-get when running as root; otherwise prints
# the command to run and exits 1 (this file is sourced, so it ends the caller).

# shellcheck disable=SC2034  # used by the scripts that source this file
MS_BUILD_PACKAGES=(
    build-essential cmake pkg-config libssl-dev libncurses-dev
    libreadline-dev libjansson-dev openssl ca-certificates
)
# shellcheck disable=SC2034
MS_TEST_PACKAGES=(
    "${MS_BUILD_PACKAGES[@]}"
    libcriterion-dev dovecot-imapd dovecot-pop3d tmux jq
    chromium    # renders the .html transcript in the export tests (headless screenshot)
)

# shellcheck disable=SC2034
MS_BENCH_PACKAGES=(
    "${MS_BUILD_PACKAGES[@]}"
    dovecot-imapd dovecot-pop3d tmux hyperfine curl valgrind time python3
)

# _ms_pkg_status PKG -> prints dpkg's "want flag status" triple, or nothing.
_ms_pkg_status() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true
}

# _ms_pkg_usable PKG -> 0 when the package's files are on disk.
# "installed" is the normal case. A package whose postinst failed (for
# example Dovecot trying to start its service under policy-rc.d, or without
# systemd) ends "half-configured" but its files are there, which is all the
# tests need; warn about it instead of failing.
_ms_pkg_usable() {
    local status
    status=$(_ms_pkg_status "$1")
    case "$status" in
        "install ok installed") return 0 ;;
        "install ok half-configured" | "install ok unpacked" | \
            "install ok triggers-awaited" | "install ok triggers-pending")
            printf 'deps: warning: %s is "%s" (its maintainer script did not finish); continuing\n' \
                "$1" "$status" >&2
            return 0 ;;
        *) return 1 ;;
    esac
}

ensure_packages() {
    local pkg
    local -a missing=()
    for pkg in "$@"; do
        if ! _ms_pkg_usable "$pkg"; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi

    local -a install_cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
    if ((EUID != 0)); then
        printf 'deps: missing packages: %s\n' "${missing[*]}" >&2
        printf 'deps: install them as root with:\n' >&2
        printf '  apt-get update && DEBIAN_FRONTEND=noninteractive %s\n' "${install_cmd[*]}" >&2
        exit 1
    fi

    printf 'deps: installing %s\n' "${missing[*]}" >&2
    if [[ -z "${_MS_APT_UPDATED:-}" ]]; then
        apt-get update >&2
        _MS_APT_UPDATED=1
    fi
    # A package's postinst may fail (Dovecot's service start is refused in a
    # container); apt-get then exits non-zero. Judge by the final dpkg status
    # rather than by apt-get's exit code.
    local rc=0
    DEBIAN_FRONTEND=noninteractive "${install_cmd[@]}" >&2 || rc=$?
    if ((rc != 0)); then
        printf 'deps: apt-get install exited %d; checking what got installed\n' "$rc" >&2
    fi

    local -a failed=()
    for pkg in "${missing[@]}"; do
        if ! _ms_pkg_usable "$pkg"; then
            failed+=("$pkg")
        fi
    done
    if ((${#failed[@]} != 0)); then
        printf 'deps: error: could not install: %s\n' "${failed[*]}" >&2
        exit 1
    fi
}

# cmake_configure_if_needed BUILD_DIR -DVAR=VALUE...
# Runs `cmake -S . -B BUILD_DIR ARGS...` (from the current directory, which
# must be the repository root) unless BUILD_DIR already holds a generated
# build system for this source tree with every -DVAR=VALUE already in its
# cache. Later edits to CMakeLists.txt are picked up by `cmake --build`
# itself. All output goes to stderr.
cmake_configure_if_needed() {
    local build_dir=$1
    shift
    local cache="$build_dir/CMakeCache.txt"
    local reason=""

    if [[ ! -f "$cache" ]]; then
        reason="no $cache"
    elif [[ ! -f "$build_dir/Makefile" && ! -f "$build_dir/build.ninja" ]]; then
        reason="no generated build system in $build_dir (an earlier configure failed?)"
    else
        local home
        home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
        if [[ "$home" != "$PWD" ]]; then
            # The tree moved: cmake refuses a cache made for another source dir.
            printf 'cmake: %s was configured for %s; starting over\n' "$build_dir" "$home" >&2
            rm -rf "$cache" "$build_dir/CMakeFiles"
            reason="source directory changed"
        else
            local arg def var value current
            for arg in "$@"; do
                [[ "$arg" == -D* ]] || continue
                def=${arg#-D}
                var=${def%%=*}
                value=${def#*=}
                var=${var%%:*}
                # Cache lines look like NAME:TYPE=VALUE.
                current=$(awk -v name="$var" \
                    'index($0, name ":") == 1 { sub(/^[^=]*=/, ""); print "=" $0; exit }' "$cache")
                if [[ "$current" != "=$value" ]]; then
                    reason="$var is not $value"
                    break
                fi
            done
        fi
    fi

    if [[ -z "$reason" ]]; then
        printf '== configure: %s is up to date\n' "$build_dir" >&2
        return 0
    fi
    printf '== configure: %s (%s)\n' "$build_dir" "$reason" >&2
    cmake -S . -B "$build_dir" "$@" >&2
}
