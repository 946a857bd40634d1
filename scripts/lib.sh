# Shared set-up for the repository's commands; source it, do not run it.
#
# After `bootstrap_venv`, VENV_PYTHON is the virtualenv's interpreter, the virtualenv's bin/ is first
# on PATH and the repository root is on PYTHONPATH.
#
# Interpreter: $PYTHON if set, else python3.13 (PATH, /usr/bin), else pyenv's newest 3.13.x, else
# python3 if it is 3.13 or newer. Home Assistant 2026.2 needs Python 3.13.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${REPO_ROOT}/.venv"
VENV_PYTHON="${VENV_DIR}/bin/python"
REQUIREMENTS="${REPO_ROOT}/requirements_test.txt"
REQUIREMENTS_STAMP="${VENV_DIR}/.requirements.sha256"

log() {
    printf '==> %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Prints the x.y.z version of the interpreter $1, or nothing when it does not run (a pyenv shim
# whose version is not selected exits non-zero, for example).
python_version() {
    "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true
}

# True when version $1 is at least version $2 (both x.y.z).
version_at_least() {
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

# True when $1 is a working interpreter >= 3.13 that can create virtualenvs.
usable_python() {
    local version
    version="$(python_version "$1")"
    [ -n "$version" ] || return 1
    version_at_least "$version" "3.13.0" || return 1
    "$1" -c 'import ensurepip, venv' >/dev/null 2>&1
}

find_python() {
    local candidate pyenv_root
    local -a candidates=()
    if [ -n "${PYTHON:-}" ]; then
        usable_python "$PYTHON" || die "PYTHON=$PYTHON is not a working Python >= 3.13 with venv"
        printf '%s\n' "$PYTHON"
        return
    fi
    if command -v python3.13 >/dev/null 2>&1; then
        candidates+=("$(command -v python3.13)")
    fi
    candidates+=(/usr/bin/python3.13 /usr/local/bin/python3.13)
    pyenv_root="${PYENV_ROOT:-}"
    if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then
        pyenv_root="$(pyenv root 2>/dev/null || true)"
    fi
    [ -n "$pyenv_root" ] || pyenv_root="${HOME}/.pyenv"
    if [ -d "${pyenv_root}/versions" ]; then
        while IFS= read -r candidate; do
            candidates+=("$candidate")
        done < <(find "${pyenv_root}/versions" -mindepth 3 -maxdepth 3 -path '*/bin/python3.13' 2>/dev/null | sort -rV)
    fi
    if command -v python3 >/dev/null 2>&1; then
        candidates+=("$(command -v python3)")
    fi
    for candidate in "${candidates[@]}"; do
        if [ -x "$candidate" ] && usable_python "$candidate"; then
            printf '%s\n' "$candidate"
            return
        fi
    done
    die "no Python >= 3.13 (with the venv module) found: tried python3.13 on PATH, /usr/bin/python3.13, \
${pyenv_root}/versions/3.13.*/bin/python3.13 and python3. Install Python 3.13 (e.g. 'apt-get install \
python3.13 python3.13-venv' or 'pyenv install 3.13') or set PYTHON=/path/to/python3.13."
}

requirements_hash() {
    local version
    version="$(python_version "$VENV_PYTHON")"
    { cat "$REQUIREMENTS"; printf 'python %s\n' "$version"; } | sha256sum | cut -d ' ' -f 1
}

bootstrap_venv() {
    local python version venv_version
    venv_version="$(python_version "$VENV_PYTHON")"
    if [ -z "$venv_version" ] || ! version_at_least "$venv_version" "3.13.0"; then
        python="$(find_python)"
        log "creating ${VENV_DIR} with ${python} ($(python_version "$python"))"
        rm -rf "$VENV_DIR"
        "$python" -m venv "$VENV_DIR"
        venv_version="$(python_version "$VENV_PYTHON")"
    fi
    # homeassistant 2026.2.3 declares Requires-Python >= 3.13.2 but installs and runs on 3.13.0.
    if ! version_at_least "$venv_version" "3.13.2"; then
        export PIP_IGNORE_REQUIRES_PYTHON=1
    fi
    if [ ! -f "$REQUIREMENTS_STAMP" ] || [ "$(cat "$REQUIREMENTS_STAMP")" != "$(requirements_hash)" ]; then
        log "installing requirements_test.txt into .venv (Python ${venv_version}; first time takes a few minutes)"
        if ! "$VENV_PYTHON" -m pip install --disable-pip-version-check -r "$REQUIREMENTS" \
            >"${VENV_DIR}/pip-install.log" 2>&1; then
            tail -n 30 "${VENV_DIR}/pip-install.log" >&2
            die "pip install -r requirements_test.txt failed (full log: ${VENV_DIR}/pip-install.log)"
        fi
        requirements_hash >"$REQUIREMENTS_STAMP"
    fi
    export PATH="${VENV_DIR}/bin:${PATH}"
    export PYTHONPATH="${REPO_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
    export VENV_PYTHON REPO_ROOT
}

# Makes sure a Chromium for the browser end-to-end test is installed (Debian's package; Playwright
# drives it, it downloads no browser of its own).
ensure_chromium() {
    local candidate
    for candidate in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            return 0
        fi
    done
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing Debian's chromium for the browser test"
        if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
            return 0
        fi
        log "warning: could not install chromium; the browser test will fail"
    else
        log "warning: Chromium not found; install it (e.g. 'sudo apt-get install chromium') for the browser test"
    fi
}

# ser2net for the bridge tests (tests/bridges); those tests fail, not skip, without it.
ensure_ser2net() {
    local candidate
    for candidate in "${SER2NET:-}" /usr/sbin/ser2net /usr/bin/ser2net; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            return 0
        fi
    done
    if command -v ser2net >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing Debian's ser2net for the bridge tests"
        # The tests run their own ser2net on free ports: one the package may start does not interfere.
        if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ser2net >/dev/null; then
            return 0
        fi
        log "warning: could not install ser2net; the bridge tests will fail"
    else
        log "warning: ser2net not found; install it (e.g. 'sudo apt-get install ser2net') for the bridge tests"
    fi
}

# Where downloaded test dependencies live between runs (outside the repository).
CACHE_ROOT="${LGO_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/landis_gyr_optical}"

# Prints the directory holding serialx $1 alone (`pip install --target`), installing it the first time.
# The install goes to a temporary directory that is renamed when complete, so an interrupted run
# leaves nothing half-installed behind.
serialx_dir() {
    local version="$1" dir tmp
    dir="${CACHE_ROOT}/serialx/${version}"
    if [ ! -d "${dir}/serialx-${version}.dist-info" ]; then
        mkdir -p "${CACHE_ROOT}/serialx"
        tmp="$(mktemp -d "${CACHE_ROOT}/serialx/.${version}.XXXXXX")"
        if ! "$VENV_PYTHON" -m pip install --disable-pip-version-check --quiet --no-deps \
            --target "$tmp" "serialx==${version}" >"${tmp}.log" 2>&1; then
            cat "${tmp}.log" >&2
            rm -rf "$tmp" "${tmp}.log"
            die "could not install serialx ${version} into ${CACHE_ROOT}/serialx"
        fi
        rm -rf "$dir" "${tmp}.log"
        mv "$tmp" "$dir"
    fi
    printf '%s\n' "$dir"
}

# The second test run: Debian's Python 3.14 (scripts/install_python314, unpacked into the git-ignored
# .cache/ of the repository) in its own virtualenv, .venv314, with requirements_test_py314.txt.
PY314_PREFIX="${REPO_ROOT}/.cache/python3.14"
VENV314_DIR="${REPO_ROOT}/.venv314"
VENV314_PYTHON="${VENV314_DIR}/bin/python"
REQUIREMENTS314="${REPO_ROOT}/requirements_test_py314.txt"

bootstrap_venv314() {
    local stamp="${VENV314_DIR}/.requirements.sha256" want
    mkdir -p "${REPO_ROOT}/.cache"
    if ! "${REPO_ROOT}/scripts/install_python314" "$PY314_PREFIX" >"${REPO_ROOT}/.cache/install_python314.log" 2>&1; then
        tail -n 30 "${REPO_ROOT}/.cache/install_python314.log" >&2
        die "could not install Debian's Python 3.14 into ${PY314_PREFIX} (log: .cache/install_python314.log)"
    fi
    want="$({ cat "$REQUIREMENTS314"; "${PY314_PREFIX}/bin/python3.14" -VV; } | sha256sum | cut -d ' ' -f 1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        log "creating .venv314 (Python 3.14, requirements_test_py314.txt; first time takes a few minutes)"
        rm -rf "$VENV314_DIR"
        "${PY314_PREFIX}/bin/python3.14" -m venv "$VENV314_DIR" || die "python3.14 -m venv failed"
        if ! "$VENV314_PYTHON" -m pip install --disable-pip-version-check -r "$REQUIREMENTS314" \
            >"${VENV314_DIR}/pip-install.log" 2>&1; then
            tail -n 30 "${VENV314_DIR}/pip-install.log" >&2
            die "pip install -r requirements_test_py314.txt failed (log: .venv314/pip-install.log)"
        fi
        printf '%s\n' "$want" >"$stamp"
    fi
    export VENV314_PYTHON
}
