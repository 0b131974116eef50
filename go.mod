module github.com/seed2085993a/redshiftsync

go 1.26.0

require (
	github.com/jmoiron/sqlx v1.4.0
	github.com/lib/pq v1.12.3
	golang.org/x/sync v0.25.0
)
