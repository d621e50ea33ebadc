package storewrap

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/hotread/hotread"
	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/querycache"
)

// These tests run three decorators, each with its own listener, on one
// database, as three replicas of a service would, and check that a change
// committed through one of them, or with plain SQL, reaches the others.

// replicaTTL is the TTL of every cache in these tests. Nothing expires
// while a test runs, so only a notification can make a replica see a
// change.
const replicaTTL = time.Hour

// replicaFixture is the data that seedReplicaFixture inserts: two enabled
// providers, three model configs, configs[0] the default, and three users,
// of whom users[0] and users[1] have a prompt.
type replicaFixture struct {
	providers []chatdb.ChatProvider
	configs   []chatdb.ChatModelConfig
	users     []uuid.UUID
}

func seedReplicaFixture(t *testing.T, q chatdb.Querier) *replicaFixture {
	t.Helper()
	ctx := t.Context()
	fx := &replicaFixture{}
	for _, name := range []string{"alpha", "beta"} {
		p, err := q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
			Provider: name, DisplayName: strings.ToUpper(name), APIKey: "key-" + name, Enabled: true,
		})
		if err != nil {
			t.Fatalf("InsertChatProvider %s: %v", name, err)
		}
		fx.providers = append(fx.providers, p)
	}
	for i, provider := range []string{"alpha", "beta", "alpha"} {
		c, err := q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
			Provider: provider, Model: fmt.Sprintf("model-%d", i), DisplayName: fmt.Sprintf("Model %d", i),
			Enabled: true, IsDefault: i == 0, Options: json.RawMessage(`{"temperature": 0.5}`),
		})
		if err != nil {
			t.Fatalf("InsertChatModelConfig %d: %v", i, err)
		}
		fx.configs = append(fx.configs, c)
	}
	fx.users = []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for _, user := range fx.users[:2] {
		_, err := q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
			UserID: user, Prompt: "prompt of " + user.String(),
		})
		if err != nil {
			t.Fatalf("UpsertUserChatCustomPrompt: %v", err)
		}
	}
	return fx
}

// replicaRead is one cached read of one key of replicaFixture.
type replicaRead struct {
	name  string
	read  func(ctx context.Context, q chatdb.Querier) (any, error)
	stats func(Stats) querycache.Stats
}

// replicaReads returns a read of every key of fx that the caches hold: the
// providers, each config, the default config and each user's prompt.
func (fx *replicaFixture) replicaReads() []replicaRead {
	reads := []replicaRead{{
		name: "providers",
		read: func(ctx context.Context, q chatdb.Querier) (any, error) {
			return q.GetEnabledChatProviders(ctx)
		},
		stats: func(s Stats) querycache.Stats { return s.Providers },
	}}
	for i, c := range fx.configs {
		reads = append(reads, replicaRead{
			name: fmt.Sprintf("config %d", i),
			read: func(ctx context.Context, q chatdb.Querier) (any, error) {
				return q.GetChatModelConfigByID(ctx, c.ID)
			},
			stats: func(s Stats) querycache.Stats { return s.ModelConfig },
		})
	}
	reads = append(reads, replicaRead{
		name: "default",
		read: func(ctx context.Context, q chatdb.Querier) (any, error) {
			return q.GetDefaultChatModelConfig(ctx)
		},
		stats: func(s Stats) querycache.Stats { return s.DefaultModelConfig },
	})
	for i, user := range fx.users {
		reads = append(reads, replicaRead{
			name: fmt.Sprintf("prompt %d", i),
			read: func(ctx context.Context, q chatdb.Querier) (any, error) {
				return q.GetUserChatCustomPrompt(ctx, user)
			},
			stats: func(s Stats) querycache.Stats { return s.UserPrompt },
		})
	}
	return reads
}

// cacheNames lists the caches of Stats by the prefix of the replicaRead names
// that they serve.
var cacheNames = map[string]func(Stats) querycache.Stats{
	"providers": func(s Stats) querycache.Stats { return s.Providers },
	"config":    func(s Stats) querycache.Stats { return s.ModelConfig },
	"default":   func(s Stats) querycache.Stats { return s.DefaultModelConfig },
	"prompt":    func(s Stats) querycache.Stats { return s.UserPrompt },
}

// cacheOf returns the cacheNames key of a replicaRead name.
func cacheOf(readName string) string {
	name, _, _ := strings.Cut(readName, " ")
	return name
}

// replicaMutation is a mutation run through replica A, with the hot reads
// of replicaFixture.replicaReads that it makes stale.
type replicaMutation struct {
	run     func(ctx context.Context, q chatdb.Querier, fx *replicaFixture) error
	affects []string
	// extra lists caches, by their cacheNames key, that the mutation
	// invalidates for keys that no test reads, such as the id of a new row.
	extra []string
}

// caches returns the cacheNames keys of the caches that m invalidates.
func (m replicaMutation) caches() []string {
	caches := slices.Clone(m.extra)
	for _, name := range m.affects {
		caches = append(caches, cacheOf(name))
	}
	slices.Sort(caches)
	return slices.Compact(caches)
}

var allConfigs = []string{"config 0", "config 1", "config 2", "default"}

// replicaMutations has a case for every method that rules classifies as a
// mutation; TestReplicaMutationsCoverRules checks that.
var replicaMutations = map[string]replicaMutation{
	"InsertChatProvider": {
		run: func(ctx context.Context, q chatdb.Querier, _ *replicaFixture) error {
			_, err := q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
				Provider: "gamma", DisplayName: "GAMMA", Enabled: true,
			})
			return err
		},
		affects: append([]string{"providers"}, allConfigs...),
	},
	"UpdateChatProvider": {
		run: func(ctx context.Context, q chatdb.Querier, fx *replicaFixture) error {
			_, err := q.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
				ID: fx.providers[1].ID, DisplayName: "Beta off", Enabled: false,
			})
			return err
		},
		affects: append([]string{"providers"}, allConfigs...),
	},
	"DeleteChatProvider": {
		run: func(ctx context.Context, q chatdb.Querier, fx *replicaFixture) error {
			return q.DeleteChatProvider(ctx, fx.providers[1].ID) // and configs[1]
		},
		affects: append([]string{"providers"}, allConfigs...),
	},
	"InsertChatModelConfig": {
		run: func(ctx context.Context, q chatdb.Querier, _ *replicaFixture) error {
			_, err := q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
				Provider: "beta", Model: "model-new", DisplayName: "New", Enabled: true,
				Options: json.RawMessage(`{}`),
			})
			return err
		},
		affects: []string{"default"},
		extra:   []string{"config"},
	},
	"UpdateChatModelConfig": {
		run: func(ctx context.Context, q chatdb.Querier, fx *replicaFixture) error {
			c := fx.configs[1]
			_, err := q.UpdateChatModelConfig(ctx, chatdb.UpdateChatModelConfigParams{
				ID: c.ID, Provider: c.Provider, Model: c.Model, DisplayName: "Renamed",
				Enabled: false, Options: json.RawMessage(`{"temperature": 1}`),
			})
			return err
		},
		affects: []string{"config 1", "default"},
	},
	"DeleteChatModelConfig": {
		run: func(ctx context.Context, q chatdb.Querier, fx *replicaFixture) error {
			return q.DeleteChatModelConfig(ctx, fx.configs[2].ID)
		},
		affects: []string{"config 2", "default"},
	},
	"SetDefaultChatModelConfig": {
		run: func(ctx context.Context, q chatdb.Querier, fx *replicaFixture) error {
			return q.SetDefaultChatModelConfig(ctx, fx.configs[1].ID)
		},
		affects: allConfigs,
	},
	"ClearDefaultChatModelConfig": {
		run: func(ctx context.Context, q chatdb.Querier, _ *replicaFixture) error {
			return q.ClearDefaultChatModelConfig(ctx)
		},
		affects: allConfigs,
	},
	"UpsertUserChatCustomPrompt": {
		run: func(ctx context.Context, q chatdb.Querier, fx *replicaFixture) error {
			_, err := q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
				UserID: fx.users[2], Prompt: "a first prompt",
			})
			return err
		},
		affects: []string{"prompt 2"},
	},
	"DeleteUserChatCustomPrompt": {
		run: func(ctx context.Context, q chatdb.Querier, fx *replicaFixture) error {
			return q.DeleteUserChatCustomPrompt(ctx, fx.users[0])
		},
		affects: []string{"prompt 0"},
	},
}

func TestReplicaMutationsCoverRules(t *testing.T) {
	var mutations []string
	for name, r := range rules {
		if r.class == mutation {
			mutations = append(mutations, name)
		}
	}
	slices.Sort(mutations)
	cases := slices.Sorted(maps.Keys(replicaMutations))
	if !slices.Equal(cases, mutations) {
		t.Errorf("replicaMutations has cases for %v, want one for each mutation in rules: %v", cases, mutations)
	}
}

// replicaSet contains the decorators of one test, named A, B and C, on one
// database.
type replicaSet struct {
	db       *sql.DB
	dsn      string
	plain    *chatdb.Queries
	replicas map[string]*Querier
	logs     *logCapture
}

// newReplicaSet creates a fresh database and starts a decorator with a
// listener for each name in names. The listener of each connects with
// application_name hotread_replica_<name>. edit, when not nil, changes the
// options of each.
func newReplicaSet(t *testing.T, names []string, edit func(name string, o *Options)) *replicaSet {
	t.Helper()
	dsn, db := testDatabase(t)
	rs := &replicaSet{db: db, dsn: dsn, plain: chatdb.New(db), replicas: map[string]*Querier{}, logs: &logCapture{}}
	for _, name := range names {
		long := QueryOptions{TTL: replicaTTL}
		opts := Options{
			DB:                 db,
			Providers:          long,
			ModelConfig:        long,
			DefaultModelConfig: long,
			UserPrompt:         long,
			Logger:             slog.New(rs.logs),
			Listener: ListenerOptions{
				DSN:                  dsnWith(t, dsn, map[string]string{"application_name": "hotread_replica_" + name}),
				MinReconnectInterval: 10 * time.Millisecond,
				MaxReconnectInterval: 100 * time.Millisecond,
			},
		}
		if edit != nil {
			edit(name, &opts)
		}
		q, err := New(chatdb.New(db), opts)
		if err != nil {
			t.Fatalf("New for replica %s: %v", name, err)
		}
		t.Cleanup(func() {
			if err := q.Close(); err != nil {
				t.Errorf("Close replica %s: %v", name, err)
			}
		})
		if !q.Stats().Listener.Connected {
			t.Fatalf("replica %s: listener not connected after New", name)
		}
		rs.replicas[name] = q
	}
	return rs
}

// sameResult reports whether two results of one read are equal, errors
// included, with every sql.ErrNoRows equal to another.
func sameResult(got any, gotErr error, want any, wantErr error) bool {
	if errors.Is(wantErr, sql.ErrNoRows) || errors.Is(gotErr, sql.ErrNoRows) {
		return errors.Is(gotErr, sql.ErrNoRows) && errors.Is(wantErr, sql.ErrNoRows)
	}
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		return false
	}
	return reflect.DeepEqual(got, want)
}

// warm reads every key through q, so that every cache holds it.
func (rs *replicaSet) warm(t *testing.T, q *Querier, reads []replicaRead) {
	t.Helper()
	for _, r := range reads {
		if _, err := r.read(t.Context(), q); err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("warm %s: %v", r.name, err)
		}
	}
}

// waitInvalidated waits until every cache in caches, by cacheNames key, has
// counted more invalidations in q's Stats than in before.
func waitInvalidated(t *testing.T, replica string, q *Querier, before Stats, caches []string) {
	t.Helper()
	waitUntil(t, "replica "+replica+" invalidates "+strings.Join(caches, ", "), func() bool {
		now := q.Stats()
		for _, name := range caches {
			stats := cacheNames[name]
			if stats(now).Invalidations == stats(before).Invalidations {
				return false
			}
		}
		return true
	})
}

// checkReads reads every key through q, checks that it returns what the
// database holds, and that exactly the keys in affects were read from the
// database rather than from the cache.
func (rs *replicaSet) checkReads(t *testing.T, replica string, q *Querier, reads []replicaRead, affects []string) {
	t.Helper()
	ctx := t.Context()
	for _, r := range reads {
		before := r.stats(q.Stats())
		got, gotErr := r.read(ctx, q)
		after := r.stats(q.Stats())
		want, wantErr := r.read(ctx, rs.plain)
		if !sameResult(got, gotErr, want, wantErr) {
			t.Errorf("replica %s, %s: got %+v (error %v), want %+v (error %v)",
				replica, r.name, got, gotErr, want, wantErr)
		}
		missed := after.Misses > before.Misses
		if wantMiss := slices.Contains(affects, r.name); missed != wantMiss {
			t.Errorf("replica %s, %s: read from the database %v, want %v", replica, r.name, missed, wantMiss)
		}
	}
}

// checkUntouched checks that no cache but those in caches, by cacheNames
// key, counted an invalidation since before.
func checkUntouched(t *testing.T, replica string, q *Querier, before Stats, caches []string) {
	t.Helper()
	now := q.Stats()
	for cache, stats := range cacheNames {
		if !slices.Contains(caches, cache) && stats(now).Invalidations != stats(before).Invalidations {
			t.Errorf("replica %s: cache %s invalidated %d times, want 0",
				replica, cache, stats(now).Invalidations-stats(before).Invalidations)
		}
	}
}

func TestReplicaMutationsInvalidateOthers(t *testing.T) {
	for name, m := range replicaMutations {
		t.Run(name, func(t *testing.T) {
			rs := newReplicaSet(t, []string{"A", "B", "C"}, nil)
			fx := seedReplicaFixture(t, rs.plain)
			reads := fx.replicaReads()
			before := map[string]Stats{}
			for _, r := range []string{"B", "C"} {
				rs.warm(t, rs.replicas[r], reads)
				before[r] = rs.replicas[r].Stats()
			}

			if err := m.run(t.Context(), rs.replicas["A"], fx); err != nil {
				t.Fatalf("%s through replica A: %v", name, err)
			}
			for _, r := range []string{"B", "C"} {
				q := rs.replicas[r]
				waitInvalidated(t, r, q, before[r], m.caches())
				checkUntouched(t, r, q, before[r], m.caches())
				rs.checkReads(t, r, q, reads, m.affects)
				if got := q.Stats().Listener.Notifications - before[r].Listener.Notifications; got != 1 {
					t.Errorf("replica %s received %d notifications, want 1", r, got)
				}
			}
		})
	}
}

// waitForMarker sends a notification through plain SQL and waits until
// every replica in names has applied it. PostgreSQL delivers notifications
// in commit order and a listener applies them in the order received, so
// every notification committed before the marker has then been applied
// too. The marker invalidates the prompt of a user that no test reads.
func (rs *replicaSet) waitForMarker(t *testing.T, names ...string) {
	t.Helper()
	before := map[string]uint64{}
	for _, name := range names {
		before[name] = rs.replicas[name].Stats().UserPrompt.Invalidations
	}
	marker := Invalidation{Kind: KindUserPrompt, ID: uuid.New()}
	if _, err := rs.db.ExecContext(t.Context(), "SELECT pg_notify($1, $2)", DefaultChannel, marker.Payload()); err != nil {
		t.Fatalf("send the marker: %v", err)
	}
	for _, name := range names {
		waitUntil(t, "replica "+name+" applies the marker", func() bool {
			return rs.replicas[name].Stats().UserPrompt.Invalidations > before[name]
		})
	}
}

func TestReplicaInTxReachesOthersAfterCommit(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			rs := newReplicaSet(t, []string{"A", "B", "C"}, nil)
			fx := seedReplicaFixture(t, rs.plain)
			reads := fx.replicaReads()
			before := map[string]Stats{}
			for _, r := range []string{"B", "C"} {
				rs.warm(t, rs.replicas[r], reads)
				before[r] = rs.replicas[r].Stats()
			}
			oldProviders, err := rs.plain.GetEnabledChatProviders(t.Context())
			if err != nil {
				t.Fatalf("GetEnabledChatProviders: %v", err)
			}

			errRollback := errors.New("roll back")
			err = rs.replicas["A"].InTx(t.Context(), nil, func(tq *Querier) error {
				if err := replicaMutations["UpdateChatProvider"].run(t.Context(), tq, fx); err != nil {
					return err
				}
				// The transaction is open: its notification must not have
				// reached anyone.
				rs.waitForMarker(t, "B", "C")
				for _, r := range []string{"B", "C"} {
					checkUntouched(t, r, rs.replicas[r], before[r], []string{"prompt"})
					got, err := rs.replicas[r].GetEnabledChatProviders(t.Context())
					if err != nil || !reflect.DeepEqual(got, oldProviders) {
						t.Errorf("replica %s during the transaction: providers %+v (error %v), want the old %+v",
							r, got, err, oldProviders)
					}
				}
				if !commit {
					return errRollback
				}
				return nil
			})
			if commit && err != nil {
				t.Fatalf("InTx: %v", err)
			}
			if !commit && !errors.Is(err, errRollback) {
				t.Fatalf("InTx returned %v, want %v", err, errRollback)
			}

			if !commit {
				rs.waitForMarker(t, "B", "C")
				for _, r := range []string{"B", "C"} {
					checkUntouched(t, r, rs.replicas[r], before[r], []string{"prompt"})
					rs.checkReads(t, r, rs.replicas[r], reads, nil)
				}
				return
			}
			m := replicaMutations["UpdateChatProvider"]
			for _, r := range []string{"B", "C"} {
				waitInvalidated(t, r, rs.replicas[r], before[r], m.caches())
				rs.checkReads(t, r, rs.replicas[r], reads, m.affects)
			}
		})
	}
}

func TestReplicaPlainSQLWithTriggers(t *testing.T) {
	rs := newReplicaSet(t, []string{"A", "B", "C"}, func(_ string, o *Options) { o.DisablePublish = true })
	if _, err := rs.db.ExecContext(t.Context(), hotread.Triggers); err != nil {
		t.Fatalf("apply hotread.Triggers: %v", err)
	}
	fx := seedReplicaFixture(t, rs.plain)
	reads := fx.replicaReads()
	names := []string{"A", "B", "C"}
	// The triggers announced the fixture's rows too.
	rs.waitForMarker(t, names...)

	steps := []struct {
		name    string
		change  func(t *testing.T)
		affects []string
		notes   uint64 // notifications each replica receives
	}{
		{
			name: "plain SQL update of a provider",
			change: func(t *testing.T) {
				_, err := rs.db.ExecContext(t.Context(),
					"UPDATE chat_providers SET display_name = 'Alpha 2' WHERE id = $1", fx.providers[0].ID)
				if err != nil {
					t.Fatalf("update provider: %v", err)
				}
			},
			affects: append([]string{"providers"}, allConfigs...),
			notes:   1,
		},
		{
			name: "plain SQL update of a prompt",
			change: func(t *testing.T) {
				_, err := rs.db.ExecContext(t.Context(),
					"UPDATE user_chat_custom_prompts SET prompt = 'changed' WHERE user_id = $1", fx.users[1])
				if err != nil {
					t.Fatalf("update prompt: %v", err)
				}
			},
			affects: []string{"prompt 1"},
			notes:   1,
		},
		{
			// The triggers send one notification per changed row, the old
			// and the new default; the decorator sends none of its own.
			name: "SetDefaultChatModelConfig through replica A",
			change: func(t *testing.T) {
				if err := rs.replicas["A"].SetDefaultChatModelConfig(t.Context(), fx.configs[2].ID); err != nil {
					t.Fatalf("SetDefaultChatModelConfig: %v", err)
				}
			},
			affects: []string{"config 0", "config 2", "default"},
			notes:   2,
		},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			before := map[string]Stats{}
			for _, r := range names {
				rs.warm(t, rs.replicas[r], reads)
				before[r] = rs.replicas[r].Stats()
			}
			step.change(t)
			for _, r := range names {
				waitInvalidated(t, r, rs.replicas[r], before[r], replicaMutation{affects: step.affects}.caches())
			}
			rs.waitForMarker(t, names...)
			for _, r := range names {
				q := rs.replicas[r]
				if got := q.Stats().Listener.Notifications - before[r].Listener.Notifications; got != step.notes+1 {
					t.Errorf("replica %s received %d notifications and the marker, want %d and the marker",
						r, got-1, step.notes)
				}
				if r == "A" {
					// A's own mutation also invalidated locally.
					continue
				}
				rs.checkReads(t, r, q, reads, step.affects)
			}
		})
	}
}

// blockLogin stops or lets the role name log in.
func blockLogin(t *testing.T, db *sql.DB, name string, block bool) {
	t.Helper()
	attribute := "LOGIN"
	if block {
		attribute = "NOLOGIN"
	}
	if _, err := db.ExecContext(t.Context(), "ALTER ROLE "+pq.QuoteIdentifier(name)+" "+attribute); err != nil {
		t.Fatalf("ALTER ROLE %s %s: %v", name, attribute, err)
	}
}

func TestReplicaReconnectServesNewValue(t *testing.T) {
	// The listeners of B and C log in as a role of their own, so that the
	// test can keep them from reconnecting while it changes data.
	_, admin := testDatabase(t)
	role := "hotread_listener_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if _, err := admin.ExecContext(t.Context(), "CREATE ROLE "+pq.QuoteIdentifier(role)+" LOGIN"); err != nil {
		t.Fatalf("create role: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP ROLE IF EXISTS "+pq.QuoteIdentifier(role))
	})

	rs := newReplicaSet(t, []string{"A", "B", "C"}, func(name string, o *Options) {
		if name == "A" {
			return
		}
		o.Listener.DSN = dsnWith(t, o.Listener.DSN, map[string]string{"user": role})
		o.Listener.BypassCacheWhileDisconnected = name == "C"
	})
	fx := seedReplicaFixture(t, rs.plain)
	reads := fx.replicaReads()
	for _, r := range []string{"B", "C"} {
		rs.warm(t, rs.replicas[r], reads)
	}
	oldProviders, err := rs.replicas["B"].GetEnabledChatProviders(t.Context())
	if err != nil {
		t.Fatalf("GetEnabledChatProviders: %v", err)
	}

	blockLogin(t, rs.db, role, true)
	for _, r := range []string{"B", "C"} {
		terminateBackend(t, rs.db, "hotread_replica_"+r)
	}
	for _, r := range []string{"B", "C"} {
		waitUntil(t, "replica "+r+" is disconnected", func() bool {
			return !rs.replicas[r].Stats().Listener.Connected
		})
	}
	if err := replicaMutations["UpdateChatProvider"].run(t.Context(), rs.replicas["A"], fx); err != nil {
		t.Fatalf("UpdateChatProvider through replica A: %v", err)
	}
	newProviders, err := rs.plain.GetEnabledChatProviders(t.Context())
	if err != nil {
		t.Fatalf("GetEnabledChatProviders: %v", err)
	}

	// B missed the notification and serves its cached value, as old as its
	// TTL allows; C bypasses its cache while disconnected.
	if got, err := rs.replicas["B"].GetEnabledChatProviders(t.Context()); err != nil || !reflect.DeepEqual(got, oldProviders) {
		t.Errorf("replica B while disconnected: providers %+v (error %v), want the cached %+v", got, err, oldProviders)
	}
	cBefore := rs.replicas["C"].Stats().Providers
	if got, err := rs.replicas["C"].GetEnabledChatProviders(t.Context()); err != nil || !reflect.DeepEqual(got, newProviders) {
		t.Errorf("replica C while disconnected: providers %+v (error %v), want the new %+v", got, err, newProviders)
	}
	if cAfter := rs.replicas["C"].Stats().Providers; cAfter.Hits != cBefore.Hits || cAfter.Misses != cBefore.Misses {
		t.Errorf("replica C while disconnected used its cache: hits %d -> %d, misses %d -> %d",
			cBefore.Hits, cAfter.Hits, cBefore.Misses, cAfter.Misses)
	}

	blockLogin(t, rs.db, role, false)
	for _, r := range []string{"B", "C"} {
		q := rs.replicas[r]
		waitUntil(t, "replica "+r+" reconnects", func() bool {
			st := q.Stats().Listener
			return st.Connected && st.Reconnects == 1
		})
		// Every read, the providers included, now returns what the
		// database holds, from the database.
		rs.checkReads(t, r, q, reads, namesOf(reads))
	}
	if lines := rs.logs.matching("lost its connection"); len(lines) != 2 {
		t.Errorf("log lines about lost connections: %q, want one for each of B and C", lines)
	}
}

func namesOf(reads []replicaRead) []string {
	var names []string
	for _, r := range reads {
		names = append(names, r.name)
	}
	return names
}

func TestReplicaMalformedPayloadDropsAll(t *testing.T) {
	rs := newReplicaSet(t, []string{"B"}, nil)
	fx := seedReplicaFixture(t, rs.plain)
	reads := fx.replicaReads()
	q := rs.replicas["B"]

	for _, payload := range []string{"", "v2:all", "v1:provider:not-a-uuid", strings.Repeat("x", 7999)} {
		t.Run(fmt.Sprintf("%d bytes", len(payload)), func(t *testing.T) {
			rs.warm(t, q, reads)
			before := q.Stats()
			if _, err := rs.db.ExecContext(t.Context(), "SELECT pg_notify($1, $2)", DefaultChannel, payload); err != nil {
				t.Fatalf("pg_notify: %v", err)
			}
			waitUntil(t, "everything is dropped", func() bool {
				return q.Stats().Listener.DropAlls > before.Listener.DropAlls
			})
			waitInvalidated(t, "B", q, before, slices.Sorted(maps.Keys(cacheNames)))
			if got := q.Stats().Listener.MalformedPayloads; got != before.Listener.MalformedPayloads+1 {
				t.Errorf("MalformedPayloads = %d, want %d", got, before.Listener.MalformedPayloads+1)
			}
			rs.checkReads(t, "B", q, reads, namesOf(reads))
		})
	}
}

func TestReplicaBypassBeforeFirstConnection(t *testing.T) {
	dsn, db := testDatabase(t)
	proxy, proxied := startProxy(t, dsn, proxyForward)
	proxy.stop() // every connection attempt is refused
	fx := seedReplicaFixture(t, chatdb.New(db))
	q, err := New(chatdb.New(db), Options{
		Logger: slog.New(&logCapture{}),
		Listener: ListenerOptions{
			DSN:                          proxied,
			MinReconnectInterval:         10 * time.Millisecond,
			MaxReconnectInterval:         20 * time.Millisecond,
			StartupCheckTimeout:          -1,
			BypassCacheWhileDisconnected: true,
		},
	})
	if err != nil {
		t.Fatalf("New without a startup check: %v", err)
	}
	for _, r := range fx.replicaReads() {
		for range 2 {
			if _, err := r.read(t.Context(), q); err != nil && !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("%s: %v", r.name, err)
			}
		}
	}
	st := q.Stats()
	for name, stats := range cacheNames {
		if s := stats(st); s.Hits+s.NegativeHits+s.Misses != 0 {
			t.Errorf("cache %s used while the listener never connected: %+v", name, s)
		}
	}
	if st.Listener.Connected {
		t.Error("Connected while every connection attempt is refused")
	}

	start := time.Now()
	if err := q.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Close took %v, want at most 1s", elapsed)
	}
}

func TestNewFailsStartupCheck(t *testing.T) {
	dsn, db := testDatabase(t)
	_, proxied := startProxy(t, dsn, proxyDropNotifications)
	_, err := New(chatdb.New(db), Options{
		Listener: ListenerOptions{DSN: proxied, StartupCheckTimeout: time.Second},
	})
	if !errors.Is(err, ErrListenerStartup) {
		t.Fatalf("New through a proxy that drops notifications: %v, want an error wrapping ErrListenerStartup", err)
	}
	if !strings.Contains(err.Error(), "did not arrive") {
		t.Errorf("error %q does not say that the probe did not arrive", err)
	}
}
