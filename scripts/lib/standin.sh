# shellcheck shell=bash
#
# scripts/lib/standin.sh: the Redshift stand-in (internal/cmd/redshift-standin)
# in front of the test PostgreSQL, for tests and demos.
#
#   source scripts/lib/pg.sh; source scripts/lib/standin.sh
#   pg_start
#   standin_start
#   psql "$REDSHIFTSYNC_TEST_REDSHIFT_DSN" -c 'select version()'
#
# standin_start builds the stand-in into a temp dir, starts it against
# REDSHIFTSYNC_TEST_DSN on a free port of 127.0.0.1, with its S3 endpoint
# (-s3) on another free port and the bucket redshiftsync-test created,
# waits for its "redshift-standin: listening on URL" and
# "redshift-standin: s3 on ENDPOINT" lines and exports
#   REDSHIFTSYNC_TEST_REDSHIFT_DSN  the URL (postgres://…)
#   REDSHIFTSYNC_TEST_S3_ENDPOINT   the S3 endpoint (http://127.0.0.1:PORT,
#                                   path-style, any credentials)
#   REDSHIFTSYNC_TEST_S3_BUCKET     redshiftsync-test
# When REDSHIFTSYNC_TEST_REDSHIFT_DSN is already set, it uses that
# stand-in, starts none and leaves the S3 variables as they are.
# standin_stop (idempotent) stops it; standin_start chains it to the EXIT,
# INT and TERM traps that pg_start installed.

if [[ -n ${_STANDIN_SH_LOADED:-} ]]; then
	return 0
fi
_STANDIN_SH_LOADED=1

_STANDIN_PID=""
_STANDIN_DIR=""

standin_stop() {
	if [[ -n $_STANDIN_PID ]]; then
		kill "$_STANDIN_PID" 2>/dev/null || true
		wait "$_STANDIN_PID" 2>/dev/null || true
		_STANDIN_PID=""
	fi
	if [[ -n $_STANDIN_DIR ]]; then
		rm -rf -- "$_STANDIN_DIR"
		_STANDIN_DIR=""
	fi
}

standin_start() {
	local root i line s3line bucket=redshiftsync-test
	if [[ -n ${REDSHIFTSYNC_TEST_REDSHIFT_DSN:-} ]]; then
		echo "standin.sh: using the stand-in in REDSHIFTSYNC_TEST_REDSHIFT_DSN (not starting one)" >&2
		return 0
	fi
	root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
	[[ -n ${REDSHIFTSYNC_TEST_DSN:-} ]] || {
		echo "standin.sh: REDSHIFTSYNC_TEST_DSN is not set (call pg_start first)" >&2
		return 1
	}
	_STANDIN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/redshiftsync-standin.XXXXXX")
	(cd "$root" && go build -o "$_STANDIN_DIR/redshift-standin" ./internal/cmd/redshift-standin) || return 1
	"$_STANDIN_DIR/redshift-standin" -upstream "$REDSHIFTSYNC_TEST_DSN" -listen 127.0.0.1:0 \
		-s3 127.0.0.1:0 -s3-bucket "$bucket" \
		>"$_STANDIN_DIR/out" 2>"$_STANDIN_DIR/err" &
	_STANDIN_PID=$!
	trap 'standin_stop; pg_stop' EXIT
	trap 'standin_stop; _pg_on_signal INT' INT
	trap 'standin_stop; _pg_on_signal TERM' TERM
	for ((i = 0; i < 300; i++)); do
		line=$(sed -n 1p "$_STANDIN_DIR/out" 2>/dev/null || true)
		s3line=$(sed -n 2p "$_STANDIN_DIR/out" 2>/dev/null || true)
		if [[ $line == "redshift-standin: listening on "* && $s3line == "redshift-standin: s3 on "* ]]; then
			export REDSHIFTSYNC_TEST_REDSHIFT_DSN=${line#redshift-standin: listening on }
			export REDSHIFTSYNC_TEST_S3_ENDPOINT=${s3line#redshift-standin: s3 on }
			export REDSHIFTSYNC_TEST_S3_BUCKET=$bucket
			echo "standin.sh: Redshift stand-in ready: $REDSHIFTSYNC_TEST_REDSHIFT_DSN, S3 at $REDSHIFTSYNC_TEST_S3_ENDPOINT (bucket $bucket)" >&2
			return 0
		fi
		if ! kill -0 "$_STANDIN_PID" 2>/dev/null; then
			cat "$_STANDIN_DIR/err" >&2
			echo "standin.sh: the stand-in exited" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "standin.sh: the stand-in did not start within 30 s" >&2
	return 1
}
