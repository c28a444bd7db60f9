#!/usr/bin/env bash
# package_test.sh BUILD_DIR VERSION CMAKE CPACK OUT_DIR: builds the .deb from BUILD_DIR with CPack
# into OUT_DIR (left there for postinst_test.sh) and checks it as an operator would meet it.
# Every check prints what it found when it fails.
set -euo pipefail
build=$1 version=$2 cmake=$3 cpack=$4 out=$5
scratch=$(mktemp -d "${TMPDIR:-/tmp}/exai-package-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
step() { echo "package_test: $*" >&2; }

step "cpack in $build"
rm -rf "$out"
"$cpack" --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$scratch/cpack.log" 2>&1 \
  || { cat "$scratch/cpack.log" >&2; fail "cpack failed"; }
rm -rf "$out/_CPack_Packages"
deb="$out/exai-gateway_${version}_amd64.deb"
[ -f "$deb" ] || fail "no $deb; cpack made: $(ls "$out")"

# Control data: name, version, dependencies found by dpkg-shlibdeps, conffiles, maintainer scripts.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = exai-gateway ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
[ "$(field Architecture)" = amd64 ] || fail "Architecture: $(field Architecture)"
depends=$(field Depends)
step "Depends: $depends"
dep_names=$(sed 's/ ([^)]*)//g; s/, /\n/g' <<<"$depends")
for dep in adduser libc6 libstdc++6 libboost-json1.81.0 libboost-log1.81.0; do
  grep -qxF "$dep" <<<"$dep_names" || fail "Depends lacks $dep: $depends"
done
dpkg-deb -e "$deb" "$scratch/control"
expected_conffiles=$'/etc/exai/gateway.json\n/etc/exai/daemon.json\n/etc/exai/gateway.env\n/etc/exai/daemon.env'
[ "$(cat "$scratch/control/conffiles")" = "$expected_conffiles" ] \
  || fail "conffiles: $(cat "$scratch/control/conffiles")"
for s in postinst prerm postrm; do
  [ -x "$scratch/control/$s" ] || fail "$s missing or not executable"
  sh -n "$scratch/control/$s" || fail "$s: shell syntax"
done

# The files, exactly: a stray or missing file fails.
dpkg -x "$deb" "$scratch/root"
root="$scratch/root"
(cd "$root" && find . -type f -o -type l | sed 's|^\./||' | sort) >"$scratch/files"
cat >"$scratch/expected" <<'LIST'
etc/exai/daemon.env
etc/exai/daemon.json
etc/exai/gateway.env
etc/exai/gateway.json
usr/bin/exai-daemon
usr/bin/exai-gateway
usr/lib/systemd/system/exai-daemon.service
usr/lib/systemd/system/exai-gateway.service
usr/share/exai-gateway/README.md
usr/share/exai-gateway/daemon.json
usr/share/exai-gateway/gateway.json
usr/share/exai-gateway/grafana-dashboard.json
usr/share/exai-gateway/mcp.json
LIST
diff -u "$scratch/expected" "$scratch/files" >&2 || fail "the package's files differ from the list above"
for f in etc/exai/gateway.env etc/exai/daemon.env; do
  [ "$(stat -c %a "$root/$f")" = 600 ] || fail "$f has mode $(stat -c %a "$root/$f"), want 600"
done
dpkg-deb -c "$deb" >"$scratch/contents"
grep -q ' root/root .* ./usr/bin/exai-gateway$' "$scratch/contents" || fail "exai-gateway not owned by root in the archive"

# The installed programs run.
for prog in exai-gateway exai-daemon; do
  out=$("$root/usr/bin/$prog" --version) || fail "$prog --version exited $?"
  [ "$out" = "$prog $version" ] || fail "$prog --version printed '$out'"
  help=$("$root/usr/bin/$prog" --help) || fail "$prog --help exited $?"
  grep -q "^Usage: $prog" <<<"$help" || fail "$prog --help has no usage line"
done

# Each unit's ExecStart names an installed program and, with --print-config appended, its command
# line and /etc/exai configuration are accepted by that program.
for unit in exai-daemon exai-gateway; do
  exec_start=$(sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/system/$unit.service")
  read -r -a argv <<<"$exec_start"
  [ "${argv[0]}" = "/usr/bin/$unit" ] || fail "$unit.service starts ${argv[0]}"
  grep -q "^User=exai$" "$root/usr/lib/systemd/system/$unit.service" || fail "$unit.service does not run as exai"
  argv=("${argv[@]//\/etc\/exai\//$root/etc/exai/}")
  "$root${argv[0]}" "${argv[@]:1}" --print-config >"$scratch/$unit.config" 2>"$scratch/$unit.err" \
    || { cat "$scratch/$unit.err" >&2; fail "$unit.service's command line is refused"; }
done
grep -q '"ws://127.0.0.1:3010"' "$scratch/exai-gateway.config" || fail "the gateway unit does not use the daemon"
grep -q '"listen": "127.0.0.1:3010"' "$scratch/exai-daemon.config" || fail "the daemon unit's listen address"

# conf/mcp.json's first server, verbatim: its command and arguments answer MCP over stdio.
command=$(sed -n '0,/"command"/s/.*"command": *"\([^"]*\)".*/\1/p' "$root/usr/share/exai-gateway/mcp.json")
args_line=$(sed -n '0,/"args"/s/.*"args": *\[\(.*\)\].*/\1/p' "$root/usr/share/exai-gateway/mcp.json")
[ "$command" = /usr/bin/exai-gateway ] || fail "mcp.json runs '$command'"
read -r -a args <<<"$(tr -d '",' <<<"$args_line")"
step "mcp.json: $command ${args[*]}"
printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"package-test","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
  '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"version","arguments":{}}}' \
  | timeout 60 "$root$command" "${args[@]}" >"$scratch/stdio.out" 2>"$scratch/stdio.err" \
  || { cat "$scratch/stdio.err" >&2; fail "mcp.json's gateway exited $?"; }
grep -q '"id":1,"result":{.*"serverInfo"' "$scratch/stdio.out" || { cat "$scratch/stdio.out" >&2; fail "no initialize result"; }
grep -qF '"structuredContent":{"name":"exai-gateway","version":"'"$version"'"' "$scratch/stdio.out" \
  || { cat "$scratch/stdio.out" >&2; fail "no result of the version tool"; }

# cmake --install under another prefix: the units, mcp.json and the configuration follow it.
step "cmake --install --prefix /opt/exai"
DESTDIR="$scratch/inst" "$cmake" --install "$build" --prefix /opt/exai >"$scratch/install.log" 2>&1 \
  || { cat "$scratch/install.log" >&2; fail "cmake --install failed"; }
inst="$scratch/inst/opt/exai"
[ -x "$inst/bin/exai-gateway" ] && [ -x "$inst/bin/exai-daemon" ] || fail "programs not in /opt/exai/bin"
grep -q '^ExecStart=/opt/exai/bin/exai-gateway --config /opt/exai/etc/exai/gateway.json ' \
  "$inst/lib/systemd/system/exai-gateway.service" || fail "gateway unit not rewritten for /opt/exai"
grep -q '^EnvironmentFile=-/opt/exai/etc/exai/daemon.env$' "$inst/lib/systemd/system/exai-daemon.service" \
  || fail "daemon unit's EnvironmentFile not rewritten for /opt/exai"
grep -q '"command": "/opt/exai/bin/exai-gateway"' "$inst/share/exai-gateway/mcp.json" \
  || fail "mcp.json not rewritten for /opt/exai"
[ -f "$inst/etc/exai/gateway.json" ] || fail "no /opt/exai/etc/exai/gateway.json"
step "ok: $(basename "$deb"), $(stat -c %s "$deb") bytes"
