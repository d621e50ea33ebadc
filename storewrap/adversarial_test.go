package storewrap

import (
	"database/sql"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hotread/hotread/chatdb"
)

// TestFreshReadsWhileBackendsTerminated runs reads on two replicas
// while replica A keeps changing a user's prompt, and terminates every
// server process of the database several times meanwhile: the pools'
// connections, mid-query or idle, and both listeners'. A read on A that
// starts after a change returned must see it or a newer one. Once the load
// stops and the listeners have reconnected, both replicas must return what
// the database holds.
func TestFreshReadsWhileBackendsTerminated(t *testing.T) {
	const (
		writes    = 24
		killEvery = 6 // writes between two rounds of pg_terminate_backend
	)
	rs := newReplicaSet(t, []string{"A", "B"}, nil)
	fx := seedReplicaFixture(t, rs.plain)
	reads := fx.replicaReads()
	ctx := t.Context()
	user := fx.users[2]
	killer := openKiller(t, rs.dsn)

	stop := make(chan struct{})
	var readers sync.WaitGroup
	for _, name := range []string{"A", "B"} {
		q := rs.replicas[name]
		for g := range 2 {
			readers.Go(func() {
				for i := g; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					// Reads on a terminated connection may fail. The
					// checks after the load compare what is cached.
					_, _ = reads[i%len(reads)].read(ctx, q)
				}
			})
		}
	}

	var committed atomic.Int64 // the newest version whose write returned
	var stale atomic.Int64
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				floor := committed.Load()
				prompt, err := rs.replicas["A"].GetUserChatCustomPrompt(ctx, user)
				if err != nil {
					continue
				}
				if v, _ := strconv.ParseInt(prompt.Prompt, 10, 64); v < floor && stale.Add(1) == 1 {
					t.Errorf("replica A read version %d after version %d had been written through it", v, floor)
				}
			}
		})
	}

	for v := int64(1); v <= writes; v++ {
		var err error
		// A write that fails on a broken connection is retried, so that
		// committed is exact. Its first attempt may have committed.
		for attempt := 0; attempt < 5; attempt++ {
			_, err = rs.replicas["A"].UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
				UserID: user, Prompt: strconv.FormatInt(v, 10),
			})
			if err == nil {
				break
			}
		}
		if err != nil {
			close(stop)
			readers.Wait()
			t.Fatalf("write of version %d failed 5 times: %v", v, err)
		}
		committed.Store(v)
		if v%killEvery == 0 {
			terminateDatabaseBackends(t, killer)
		}
	}
	close(stop)
	readers.Wait()

	for _, name := range []string{"A", "B"} {
		q := rs.replicas[name]
		waitUntil(t, "replica "+name+" reconnects", func() bool {
			st := q.Stats().Listener
			return st.Connected && st.Reconnects > 0
		})
	}
	rs.waitForMarker(t, "A", "B")
	for _, name := range []string{"A", "B"} {
		for _, r := range reads {
			got, gotErr := r.read(ctx, rs.replicas[name])
			want, wantErr := r.read(ctx, rs.plain)
			if !sameResult(got, gotErr, want, wantErr) {
				t.Errorf("replica %s, %s after the load: got %+v (error %v), want %+v (error %v)",
					name, r.name, got, gotErr, want, wantErr)
			}
		}
	}
}

// openKiller opens a pool of one connection on dsn, closed when the test
// ends. terminateDatabaseBackends spares the connection that runs it, so
// this pool is never broken by its own calls.
func openKiller(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatalf("open the killer's pool: %v", err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// terminateDatabaseBackends ends every server process connected to the
// database of db except the one that runs the query.
func terminateDatabaseBackends(t *testing.T, db *sql.DB) {
	t.Helper()
	_, err := db.ExecContext(t.Context(), `SELECT pg_terminate_backend(pid)
		FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		t.Fatalf("terminate the database's backends: %v", err)
	}
}
