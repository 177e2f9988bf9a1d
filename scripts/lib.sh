# Shared by scripts/test and scripts/serve: logging, apt with a polite lock wait, and the
# project's virtual environment. Source it from the repository root.

log() { printf '\n==> %s\n' "$*"; }
die() { printf '\n%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# Another apt/dpkg run (a provisioning script, unattended-upgrades) holds the dpkg lock; we wait
# for it rather than fight it. /proc is read directly because procps may not be installed.
apt_busy() {
    local comm
    for comm in /proc/[0-9]*/comm; do
        case "$(cat "$comm" 2>/dev/null)" in
            apt | apt-get | aptitude | dpkg | unattended-upgr) return 0 ;;
        esac
    done
    return 1
}

wait_for_apt() {
    local waited=0
    apt_busy || return 0
    echo "Another apt/dpkg run is in progress; waiting for it to finish."
    while apt_busy; do
        sleep 5
        waited=$((waited + 5))
        if ((waited % 60 == 0)); then
            echo "  still waiting after ${waited}s"
            if [ -f /tmp/apt.log ]; then tail -n 1 /tmp/apt.log; fi
        fi
        ((waited < 1800)) || die "apt/dpkg still busy after 30 minutes"
    done
}

apt_install() {
    wait_for_apt
    log "apt-get install $*"
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@"
}

# --- Python environment ----------------------------------------------------------------------
# ensure_venv [EXTRA]: .venv with homesafe installed (editable), plus an optional extra.
ensure_venv() {
    local extra=${1:-}
    if [ -x .venv/bin/python ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
        # A venv made without pip (e.g. by uv): give it pip rather than replacing it.
        .venv/bin/python -m ensurepip --upgrade >/dev/null 2>&1 || rm -rf .venv
    fi
    if [ ! -x .venv/bin/python ]; then
        log "Creating .venv"
        if ! python3 -m venv .venv; then
            # Debian ships ensurepip separately, in python3.X-venv.
            rm -rf .venv
            apt_install "python$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
            python3 -m venv .venv
        fi
    fi
    local stamp=.venv/.homesafe-installed-${extra:-base}
    # The test install includes everything the base install has.
    if [ -z "$extra" ] && [ -f .venv/.homesafe-installed-test ] &&
        [ ! pyproject.toml -nt .venv/.homesafe-installed-test ]; then
        return 0
    fi
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        log "Installing homesafe${extra:+ with its $extra tools} into .venv"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extra:+[$extra]}"
        touch "$stamp"
    fi
}

