# shellcheck shell=bash
# Sourced by .ci/schemathesis.sh and .ci/openapi-client.sh.
#
#   pinned_venv DIR REQUIREMENT   a virtual environment in DIR holding
#                                 REQUIREMENT (e.g. schemathesis==4.32.5);
#                                 made anew when DIR holds anything else, and
#                                 reused while it holds exactly that

pinned_venv() {
    local dir=$1 req=$2
    if [ "$(cat "$dir/.pinned" 2>/dev/null)" = "$req" ]; then
        return 0
    fi
    echo "== installing $req into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$req"
    echo "$req" >"$dir/.pinned"
}
