module github.com/hotread/hotread

go 1.26

require (
	github.com/DATA-DOG/go-sqlmock v1.5.2
	github.com/coder/quartz v0.3.1
	github.com/google/uuid v1.6.0
	github.com/lib/pq v1.12.3
	github.com/puzpuzpuz/xsync/v4 v4.5.0
	go.uber.org/goleak v1.3.0
)
