# shellcheck shell=bash
#
# scripts/lib/pg.sh: a throwaway PostgreSQL server for tests and demos.
#
# Source this file from a bash script, then call pg_start:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/pg.sh"
#   pg_start
#   psql "$REDSHIFTSYNC_TEST_DSN" -c 'select 1'
#
# pg_start:
#   * If REDSHIFTSYNC_TEST_DSN is already set, uses that server and does
#     nothing else (no server is started, no trap is installed).
#   * Otherwise finds initdb (PATH, then the highest /usr/lib/postgresql/*/bin),
#     installing Debian's `postgresql` package with apt-get when it is missing
#     and we are root (or passwordless sudo works); initdb's a cluster in a
#     fresh temp dir, starts it on a free port of 127.0.0.1 (unix socket in the
#     temp dir) and exports:
#       REDSHIFTSYNC_TEST_DSN    postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#       REDSHIFTSYNC_TEST_PGDATA the data directory
#       REDSHIFTSYNC_TEST_PGCTL  an executable wrapper: `$REDSHIFTSYNC_TEST_PGCTL stop -m fast`,
#                                `... start`, `... restart`, `... status` run
#                                `pg_ctl -D <data> -w -l <log> ARGS` as the right OS user
#       REDSHIFTSYNC_TEST_PGLOG  the server log file
#       PGHOST PGPORT PGUSER PGDATABASE  so that plain `psql` reaches the server
#   * Installs traps on EXIT, INT and TERM that stop the server
#     (`pg_ctl stop -m immediate`) and delete the temp dir, whatever way the
#     script ends. The traps replace any EXIT/INT/TERM trap the caller had set:
#     a caller that needs its own cleanup should call pg_stop from it.
#   * When no server can be had it prints a loud error and exits the script
#     with a non-zero status: it never returns without a usable server.
#
# Call pg_start in the main shell of the script, not inside $(...) or a
# pipeline: the traps and exports belong to the shell that runs it.
#
# Other functions: pg_stop (idempotent; stop and clean up now), pg_psql
# (psql against REDSHIFTSYNC_TEST_DSN with ON_ERROR_STOP, no psqlrc).
#
# Knobs (environment):
#   REDSHIFTSYNC_PG_BINDIR   use the PostgreSQL binaries in this directory
#   REDSHIFTSYNC_PG_KEEP=1   leave the temp dir (data + log) behind on exit, for
#                            post-mortems; the server is still stopped

# Guard against being sourced twice (the traps and state are per shell).
if [[ -n ${_PG_SH_LOADED:-} ]]; then
	return 0
fi
_PG_SH_LOADED=1

_PG_TMPDIR=""   # temp dir of the server we started ("" when none)
_PG_BINDIR=""   # directory holding initdb and pg_ctl
_PG_OS_USER=""  # OS user that owns and runs the cluster ("" = ourselves)
_PG_STARTED=""  # set once the server is running

_pg_log() { printf 'pg.sh: %s\n' "$*" >&2; }

# _pg_die prints a loud error, cleans up and exits the script.
_pg_die() {
	{
		echo
		echo "########################################################################"
		echo "pg.sh: ERROR: $*"
		echo "pg.sh: no PostgreSQL server for the tests; giving up."
		echo "########################################################################"
	} >&2
	pg_stop
	exit 1
}

# _pg_find_bindir sets _PG_BINDIR to a directory that holds initdb and pg_ctl.
_pg_find_bindir() {
	local d initdb
	if [[ -n ${REDSHIFTSYNC_PG_BINDIR:-} ]]; then
		if [[ -x $REDSHIFTSYNC_PG_BINDIR/initdb && -x $REDSHIFTSYNC_PG_BINDIR/pg_ctl ]]; then
			_PG_BINDIR=$REDSHIFTSYNC_PG_BINDIR
			return 0
		fi
		_pg_log "REDSHIFTSYNC_PG_BINDIR=$REDSHIFTSYNC_PG_BINDIR has no initdb/pg_ctl; looking elsewhere"
	fi
	# initdb on PATH: resolve symlinks (/usr/local/bin/initdb -> .../15/bin/initdb)
	# so that pg_ctl and postgres are taken from the same installation.
	if initdb=$(command -v initdb 2>/dev/null); then
		d=$(dirname "$(readlink -f "$initdb")")
		if [[ -x $d/pg_ctl && -x $d/postgres ]]; then
			_PG_BINDIR=$d
			return 0
		fi
	fi
	# Debian/Ubuntu layout: /usr/lib/postgresql/<major>/bin, highest version first.
	while IFS= read -r d; do
		if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
			_PG_BINDIR=$d
			return 0
		fi
	done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r)
	return 1
}

# _pg_install installs Debian's postgresql package, when we may.
_pg_install() {
	local sudo=() rc=0 noclust=/etc/postgresql-common/createcluster.d/zz-redshiftsync-no-main.conf
	if ((EUID != 0)); then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			_pg_log "PostgreSQL server binaries not found, and we are neither root nor allowed passwordless sudo"
			return 1
		fi
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		_pg_log "PostgreSQL server binaries not found, and there is no apt-get to install them"
		return 1
	fi
	_pg_log "PostgreSQL server binaries not found: installing Debian's postgresql package (apt-get)..."
	# Keep the package from creating (and starting) its own "main" cluster on
	# port 5432: we run our own. The drop-in is removed again afterwards.
	if "${sudo[@]}" mkdir -p "$(dirname "$noclust")"; then
		printf '# temporary, written by redshiftsync scripts/lib/pg.sh\ncreate_main_cluster = false\n' |
			"${sudo[@]}" tee "$noclust" >/dev/null || true
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2 &&
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
			postgresql </dev/null >&2 || rc=$?
	"${sudo[@]}" rm -f "$noclust" || true
	if ((rc != 0)); then
		_pg_log "apt-get failed (exit $rc)"
	fi
	return "$rc"
}

# _pg_setup_user decides which OS user owns the cluster. PostgreSQL refuses to
# run as root, so as root we use the unprivileged "postgres" user, creating it
# when it is missing.
_pg_setup_user() {
	if ((EUID != 0)); then
		_PG_OS_USER=""
		return 0
	fi
	_PG_OS_USER=postgres
	if ! id -u "$_PG_OS_USER" >/dev/null 2>&1; then
		_pg_log "creating system user $_PG_OS_USER"
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /bin/bash "$_PG_OS_USER" ||
			_pg_die "cannot create the $_PG_OS_USER user (useradd failed)"
	fi
	if ! command -v runuser >/dev/null 2>&1 && ! command -v su >/dev/null 2>&1; then
		_pg_die "running as root but neither runuser nor su exists to drop privileges"
	fi
}

# _pg_as_owner runs a command (from /, in a subshell) as the cluster's owner:
# via runuser (or su) when we are root, directly otherwise.
_pg_as_owner() {
	if [[ -z $_PG_OS_USER ]]; then
		(cd / && "$@")
	elif command -v runuser >/dev/null 2>&1; then
		(cd / && runuser -u "$_PG_OS_USER" -- "$@")
	else
		# su takes one command string: quote each word for bash.
		(cd / && su -s /bin/bash "$_PG_OS_USER" -c "$(printf '%q ' "$@")")
	fi
}

# _pg_pick_port prints a TCP port of 127.0.0.1 on which nothing listens,
# picked at random in 20000-60000 (pure bash: no python/ss needed). The port
# may still be taken before the server binds it; pg_start retries then.
_pg_pick_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		# A refused connection means the port is free.
		if ! (: >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# _pg_write_wrapper writes $_PG_TMPDIR/pg_ctl, the script exported as
# REDSHIFTSYNC_TEST_PGCTL.
_pg_write_wrapper() {
	local w=$_PG_TMPDIR/pg_ctl cmd
	cmd=$(printf '%q ' "$_PG_BINDIR/pg_ctl" -D "$_PG_TMPDIR/data" -w -t 120 -l "$_PG_TMPDIR/postgres.log")
	{
		echo '#!/usr/bin/env bash'
		echo '# Generated by redshiftsync scripts/lib/pg.sh: runs pg_ctl on the test'
		echo '# cluster, as its owner. Usage: pg_ctl stop -m fast | start | restart | status'
		echo 'cd / || exit 1'
		if [[ -z $_PG_OS_USER ]]; then
			echo "exec $cmd\"\$@\""
		elif command -v runuser >/dev/null 2>&1; then
			echo "exec runuser -u $(printf '%q' "$_PG_OS_USER") -- $cmd\"\$@\""
		else
			echo "exec su -s /bin/bash $(printf '%q' "$_PG_OS_USER") -c \"$cmd\$(printf '%q ' \"\$@\")\""
		fi
	} >"$w"
	chmod 0755 "$w"
}

# _pg_on_signal stops the server, then dies of the same signal, so that the
# caller sees the usual status (130 for Ctrl-C).
_pg_on_signal() {
	local sig=$1
	trap - EXIT INT TERM
	_pg_log "caught SIG$sig: stopping the test server"
	pg_stop
	kill -s "$sig" "$$"
	exit $((128 + $(kill -l "$sig")))
}

# pg_stop stops the server started by pg_start and removes its temp dir. It
# does nothing when pg_start started no server, and may be called again.
pg_stop() {
	local dir=$_PG_TMPDIR pid
	[[ -n $dir ]] || return 0
	_PG_TMPDIR=""
	if [[ -f $dir/data/postmaster.pid ]]; then
		if ! _pg_as_owner "$_PG_BINDIR/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1; then
			pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
			if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
				_pg_log "pg_ctl stop failed: killing postmaster $pid"
				kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
	fi
	if [[ ${REDSHIFTSYNC_PG_KEEP:-} == 1 ]]; then
		_pg_log "REDSHIFTSYNC_PG_KEEP=1: left $dir behind"
	else
		rm -rf -- "$dir"
	fi
	if [[ -n $_PG_STARTED ]]; then
		_PG_STARTED=""
		unset REDSHIFTSYNC_TEST_DSN REDSHIFTSYNC_TEST_PGDATA REDSHIFTSYNC_TEST_PGCTL \
			REDSHIFTSYNC_TEST_PGLOG PGHOST PGPORT PGUSER PGDATABASE
	fi
}

# _pg_psql_bin prints the psql to use: the server's own, else PATH's, else
# the highest /usr/lib/postgresql/*/bin/psql.
_pg_psql_bin() {
	local p
	if [[ -n $_PG_BINDIR && -x $_PG_BINDIR/psql ]]; then
		echo "$_PG_BINDIR/psql"
	elif p=$(command -v psql 2>/dev/null); then
		echo "$p"
	else
		p=$(compgen -G '/usr/lib/postgresql/*/bin/psql' | sort -V -r | head -n 1)
		[[ -n $p ]] || return 1
		echo "$p"
	fi
}

# pg_psql runs psql against REDSHIFTSYNC_TEST_DSN: no ~/.psqlrc, stop on the
# first error. Extra arguments go to psql.
pg_psql() {
	local psql
	psql=$(_pg_psql_bin) || {
		_pg_log "psql not found"
		return 127
	}
	"$psql" -X -q -v ON_ERROR_STOP=1 "$@" -d "$REDSHIFTSYNC_TEST_DSN"
}

# pg_start: see the top of this file.
pg_start() {
	local tmpbase attempt port log ok=""
	if [[ -n ${REDSHIFTSYNC_TEST_DSN:-} ]]; then
		export REDSHIFTSYNC_TEST_DSN
		_pg_log "using the server in REDSHIFTSYNC_TEST_DSN (not starting one)"
		return 0
	fi
	if [[ -n $_PG_TMPDIR ]]; then
		_pg_die "pg_start called twice"
	fi

	if ! _pg_find_bindir; then
		_pg_install || _pg_die "PostgreSQL is not installed and could not be installed" \
			"(install Debian's postgresql package, or set REDSHIFTSYNC_TEST_DSN)"
		_pg_find_bindir || _pg_die "installed postgresql, but still no initdb in PATH or /usr/lib/postgresql/*/bin"
	fi
	_pg_setup_user

	# Clean up whatever way we end, from here on.
	trap pg_stop EXIT
	trap '_pg_on_signal INT' INT
	trap '_pg_on_signal TERM' TERM

	tmpbase=${TMPDIR:-/tmp}
	_PG_TMPDIR=$(mktemp -d "$tmpbase/redshiftsync-pg.XXXXXX") || _pg_die "mktemp -d failed in $tmpbase"
	if [[ -n $_PG_OS_USER ]]; then
		chown "$_PG_OS_USER:" "$_PG_TMPDIR" || _pg_die "cannot chown $_PG_TMPDIR to $_PG_OS_USER"
		# $TMPDIR may be private to root: then fall back to /tmp.
		if ! _pg_as_owner test -w "$_PG_TMPDIR" && [[ $tmpbase != /tmp ]]; then
			rm -rf -- "$_PG_TMPDIR"
			_PG_TMPDIR=$(mktemp -d /tmp/redshiftsync-pg.XXXXXX) || _pg_die "mktemp -d failed in /tmp"
			chown "$_PG_OS_USER:" "$_PG_TMPDIR" || _pg_die "cannot chown $_PG_TMPDIR to $_PG_OS_USER"
		fi
	fi
	log=$_PG_TMPDIR/postgres.log

	_pg_log "initdb ($("$_PG_BINDIR/postgres" --version 2>/dev/null || echo "$_PG_BINDIR")) in $_PG_TMPDIR/data${_PG_OS_USER:+ as $_PG_OS_USER}"
	if ! _pg_as_owner "$_PG_BINDIR/initdb" -D "$_PG_TMPDIR/data" --auth=trust --username=postgres \
		--encoding=UTF8 --locale=C --no-instructions >"$_PG_TMPDIR/initdb.log" 2>&1; then
		tail -n 40 "$_PG_TMPDIR/initdb.log" >&2
		_pg_die "initdb failed (output above)"
	fi

	# Test settings. fsync stays on (crash tests restart the server and expect
	# committed data to survive). The port lives in an included file so that
	# a retry on a taken port only rewrites that.
	cat >>"$_PG_TMPDIR/data/postgresql.conf" <<-EOF

		# --- added by redshiftsync scripts/lib/pg.sh ---
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$_PG_TMPDIR'
		max_connections = 200
		# PREPARE TRANSACTION is disabled by default; the watermark tests
		# hold a prepared transaction across syncs.
		max_prepared_transactions = 10
		shared_buffers = 128MB
		include_if_exists = 'port.conf'
	EOF

	for attempt in 1 2 3 4 5; do
		port=$(_pg_pick_port) || _pg_die "found no free TCP port in 20000-60000"
		echo "port = $port" >"$_PG_TMPDIR/data/port.conf"
		[[ -z $_PG_OS_USER ]] || chown "$_PG_OS_USER:" "$_PG_TMPDIR/data/port.conf"
		if _pg_as_owner "$_PG_BINDIR/pg_ctl" -D "$_PG_TMPDIR/data" -w -t 120 -l "$log" start >"$_PG_TMPDIR/pg_ctl.log" 2>&1; then
			ok=1
			break
		fi
		if grep -q -e 'could not bind' -e 'Address already in use' "$log" 2>/dev/null; then
			_pg_log "port $port was taken (attempt $attempt); trying another"
			continue
		fi
		break
	done
	if [[ -z $ok ]]; then
		{
			echo "---- pg_ctl output ----"
			cat "$_PG_TMPDIR/pg_ctl.log"
			echo "---- tail of $log ----"
			tail -n 40 "$log" 2>/dev/null
		} >&2
		_pg_die "the PostgreSQL server did not start (log above)"
	fi
	_PG_STARTED=1
	_pg_write_wrapper

	export REDSHIFTSYNC_TEST_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	export REDSHIFTSYNC_TEST_PGDATA="$_PG_TMPDIR/data"
	export REDSHIFTSYNC_TEST_PGCTL="$_PG_TMPDIR/pg_ctl"
	export REDSHIFTSYNC_TEST_PGLOG="$log"
	export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres

	# Prove the TCP address works (pg_ctl -w checked the unix socket).
	if _pg_psql_bin >/dev/null; then
		pg_psql -At -c 'select 1' >/dev/null ||
			_pg_die "server started but does not answer on $REDSHIFTSYNC_TEST_DSN"
	fi
	_pg_log "PostgreSQL ready: $REDSHIFTSYNC_TEST_DSN (data $REDSHIFTSYNC_TEST_PGDATA)"
}
