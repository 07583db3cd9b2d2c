# shellcheck shell=bash
# Pinned Python tools in a virtualenv of their own, installed once per set of pins.
#   python_tools DIR REQUIREMENT...   → prints DIR/venv/bin, installing first when the pins changed
python_tools() {
  local dir=$1
  shift
  local stamp
  stamp=$(printf '%s\n' "$@" | sha256sum | cut -c1-16)
  if [[ ! -f $dir/venv/.installed-$stamp ]]; then
    printf '\033[1m==> %s\033[0m\n' "installing $* into $dir/venv" >&2
    command -v python3 >/dev/null || { echo "python3 is needed" >&2; return 1; }
    # Debian's python3 makes virtualenvs only with python3-venv.
    if ! python3 -c 'import ensurepip' 2>/dev/null; then
      if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        printf '\033[1m==> %s\033[0m\n' "installing python3-venv (apt-get)" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      else
        echo "python3 cannot make virtualenvs: install python3-venv (Debian/Ubuntu)" >&2
        return 1
      fi
    fi
    rm -rf "$dir/venv"
    python3 -m venv "$dir/venv" >&2
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
    touch "$dir/venv/.installed-$stamp"
  fi
  printf '%s\n' "$dir/venv/bin"
}
