package storewrap_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/internal/pgserver"
	"github.com/hotread/hotread/storewrap"
)

// These tests run the decorator on a real PostgreSQL through lib/pq and
// compare every result with the generated Querier's result on the same
// database.

// longTTL is the TTL of every cache in these tests. No entry expires
// while a test runs, so only an invalidation can make a read see a change,
// and a missed invalidation fails the test instead of being hidden by an
// expiry.
const longTTL = time.Hour

// newDecorator returns a decorator of chatdb.New(db) with long TTLs,
// closed when the test ends.
func newDecorator(t *testing.T, db *sql.DB) *storewrap.Querier {
	t.Helper()
	long := storewrap.QueryOptions{TTL: longTTL}
	q, err := storewrap.New(chatdb.New(db), storewrap.Options{
		DB:                 db,
		Providers:          long,
		ModelConfig:        long,
		DefaultModelConfig: long,
		UserPrompt:         long,
	})
	if err != nil {
		t.Fatalf("storewrap.New: %v", err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return q
}

// fixture is the data that seedFixture inserts: enabled and disabled
// providers, model configs with an object and with JSON null as options,
// users with and without a custom prompt, and a chat with messages.
type fixture struct {
	providers []chatdb.ChatProvider // the last one is disabled
	configs   []chatdb.ChatModelConfig
	users     []uuid.UUID // users[0] has a prompt, users[1] has none
	chat      chatdb.Chat
}

// seedFixture inserts the fixture's rows through q. configs[0] is the
// default; configs[1] has JSON null as options.
func seedFixture(t *testing.T, q chatdb.Querier) *fixture {
	t.Helper()
	ctx := t.Context()
	fx := &fixture{}

	for i, p := range []struct {
		name    string
		enabled bool
	}{{"alpha", true}, {"beta", true}, {"gamma", false}} {
		row, err := q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
			Provider:    p.name,
			DisplayName: "Provider " + strconv.Itoa(i),
			APIKey:      "key-" + p.name,
			Enabled:     p.enabled,
		})
		if err != nil {
			t.Fatalf("InsertChatProvider %s: %v", p.name, err)
		}
		fx.providers = append(fx.providers, row)
	}

	for i, options := range []string{`{"temperature": 0.5, "tools": ["search"]}`, `null`, `{}`} {
		row, err := q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
			Provider:    fx.providers[i%2].Provider,
			Model:       "model-" + strconv.Itoa(i),
			DisplayName: "Model " + strconv.Itoa(i),
			Enabled:     i != 2,
			IsDefault:   i == 0,
			Options:     json.RawMessage(options),
		})
		if err != nil {
			t.Fatalf("InsertChatModelConfig %d: %v", i, err)
		}
		fx.configs = append(fx.configs, row)
	}

	fx.users = []uuid.UUID{uuid.New(), uuid.New()}
	if _, err := q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
		UserID: fx.users[0],
		Prompt: "Answer in French.",
	}); err != nil {
		t.Fatalf("UpsertUserChatCustomPrompt: %v", err)
	}

	chat, err := q.InsertChat(ctx, chatdb.InsertChatParams{
		UserID:        fx.users[0],
		ModelConfigID: fx.configs[0].ID,
		Title:         sql.NullString{String: "first chat", Valid: true},
	})
	if err != nil {
		t.Fatalf("InsertChat: %v", err)
	}
	fx.chat = chat
	for _, content := range []string{"hello", "again"} {
		if _, err := q.InsertChatMessage(ctx, chatdb.InsertChatMessageParams{
			ChatID: chat.ID, Role: "user", Content: content,
		}); err != nil {
			t.Fatalf("InsertChatMessage: %v", err)
		}
	}
	return fx
}

// configIDs returns the ids of the fixture's configs and one that no
// config has.
func (fx *fixture) configIDs() []uuid.UUID {
	ids := []uuid.UUID{uuid.New()}
	for _, c := range fx.configs {
		ids = append(ids, c.ID)
	}
	return ids
}

// checkSame fails the test unless got and gotErr are what want and wantErr
// are: equal values, and errors that are both nil, or both sql.ErrNoRows,
// or both PostgreSQL errors with the same SQLSTATE code.
func checkSame[T any](t *testing.T, what string, got T, gotErr error, want T, wantErr error) {
	t.Helper()
	if !sameError(gotErr, wantErr) {
		t.Errorf("%s: error = %v, want %v", what, gotErr, wantErr)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func sameError(got, want error) bool {
	switch {
	case want == nil || got == nil:
		return got == nil && want == nil
	case errors.Is(want, sql.ErrNoRows):
		return errors.Is(got, sql.ErrNoRows)
	}
	var gotPQ, wantPQ *pq.Error
	if errors.As(want, &wantPQ) {
		return errors.As(got, &gotPQ) && gotPQ.Code == wantPQ.Code
	}
	return got.Error() == want.Error()
}

// checkHotReads compares the four hot reads of cached with those of plain
// for every config id and user of fx. Each read is made twice through
// cached, so that both a fill and a hit are compared.
func checkHotReads(t *testing.T, cached, plain chatdb.Querier, fx *fixture) {
	t.Helper()
	ctx := t.Context()
	for range 2 {
		providers, err := cached.GetEnabledChatProviders(ctx)
		wantProviders, wantErr := plain.GetEnabledChatProviders(ctx)
		checkSame(t, "GetEnabledChatProviders", providers, err, wantProviders, wantErr)

		for _, id := range fx.configIDs() {
			config, err := cached.GetChatModelConfigByID(ctx, id)
			want, wantErr := plain.GetChatModelConfigByID(ctx, id)
			checkSame(t, "GetChatModelConfigByID "+id.String(), config, err, want, wantErr)
		}

		defaultConfig, err := cached.GetDefaultChatModelConfig(ctx)
		wantDefault, wantErr := plain.GetDefaultChatModelConfig(ctx)
		checkSame(t, "GetDefaultChatModelConfig", defaultConfig, err, wantDefault, wantErr)

		for _, user := range append(slices.Clone(fx.users), uuid.New()) {
			prompt, err := cached.GetUserChatCustomPrompt(ctx, user)
			want, wantErr := plain.GetUserChatCustomPrompt(ctx, user)
			checkSame(t, "GetUserChatCustomPrompt "+user.String(), prompt, err, want, wantErr)
		}
	}
}

// readCases are the methods of chatdb.Querier that only read, each run on
// a Querier and returning its result and error.
var readCases = map[string]func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error){
	"GetEnabledChatProviders": func(ctx context.Context, q chatdb.Querier, _ *fixture) (any, error) {
		return q.GetEnabledChatProviders(ctx)
	},
	"GetChatModelConfigByID": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		var results []any
		for _, id := range fx.configIDs() {
			row, err := q.GetChatModelConfigByID(ctx, id)
			results = append(results, row, errorText(err))
		}
		return results, nil
	},
	"GetDefaultChatModelConfig": func(ctx context.Context, q chatdb.Querier, _ *fixture) (any, error) {
		return q.GetDefaultChatModelConfig(ctx)
	},
	"GetUserChatCustomPrompt": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		var results []any
		for _, user := range fx.users {
			row, err := q.GetUserChatCustomPrompt(ctx, user)
			results = append(results, row, errorText(err))
		}
		return results, nil
	},
	"ListChatProviders": func(ctx context.Context, q chatdb.Querier, _ *fixture) (any, error) {
		return q.ListChatProviders(ctx)
	},
	"GetChatProviderByID": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		id := uuid.New()
		if len(fx.providers) > 0 {
			id = fx.providers[len(fx.providers)-1].ID
		}
		return q.GetChatProviderByID(ctx, id)
	},
	"ListChatModelConfigs": func(ctx context.Context, q chatdb.Querier, _ *fixture) (any, error) {
		return q.ListChatModelConfigs(ctx)
	},
	"GetChatByID": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		return q.GetChatByID(ctx, fx.chat.ID)
	},
	"ListChatMessages": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		return q.ListChatMessages(ctx, fx.chat.ID)
	},
	"CountChatMessages": func(ctx context.Context, q chatdb.Querier, _ *fixture) (any, error) {
		return q.CountChatMessages(ctx)
	},
}

// errorText returns a comparable form of a per-key error: "no rows" for
// sql.ErrNoRows, so that a wrapped one compares equal.
func errorText(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, sql.ErrNoRows):
		return "no rows"
	default:
		return err.Error()
	}
}

func TestIntegrationReadsMatchQuerier(t *testing.T) {
	db := pgserver.TestDB(t)
	plain := chatdb.New(db)

	// Each stage gets a new decorator, because the stages change the data
	// through plain, which invalidates nothing.
	stages := []struct {
		name string
		fill func(t *testing.T) *fixture
	}{
		{"empty database", func(*testing.T) *fixture {
			return &fixture{users: []uuid.UUID{uuid.New()}, chat: chatdb.Chat{ID: uuid.New()}}
		}},
		{"seeded", func(t *testing.T) *fixture { return seedFixture(t, plain) }},
	}
	for _, stage := range stages {
		t.Run(stage.name, func(t *testing.T) {
			fx := stage.fill(t)
			cached := newDecorator(t, db)
			for name, read := range readCases {
				for i := range 2 { // a fill, then a hit
					got, gotErr := read(t.Context(), cached, fx)
					want, wantErr := read(t.Context(), plain, fx)
					checkSame(t, fmt.Sprintf("%s, call %d", name, i+1), got, gotErr, want, wantErr)
				}
			}
			checkHotReads(t, cached, plain, fx)
		})
	}
}

// TestIntegrationEmptyProvidersNotNil checks that an empty provider list
// stays an empty slice through the cache, as the generated code returns
// it, not nil.
func TestIntegrationEmptyProvidersNotNil(t *testing.T) {
	db := pgserver.TestDB(t)
	cached := newDecorator(t, db)
	for i := range 2 {
		providers, err := cached.GetEnabledChatProviders(t.Context())
		if err != nil {
			t.Fatalf("GetEnabledChatProviders: %v", err)
		}
		if providers == nil || len(providers) != 0 {
			t.Errorf("call %d: GetEnabledChatProviders = %#v, want an empty non-nil slice", i+1, providers)
		}
	}
}

// mutationCases are the methods of chatdb.Querier that write. Each runs
// the method through q on the fixture's data, where it succeeds, and
// returns its result: a row, or nil for the methods that return only an
// error.
var mutationCases = map[string]func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error){
	"InsertChatProvider": func(ctx context.Context, q chatdb.Querier, _ *fixture) (any, error) {
		return q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
			Provider: "delta", DisplayName: "Delta", APIKey: "key-delta", Enabled: true,
		})
	},
	"UpdateChatProvider": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		return q.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
			ID: fx.providers[0].ID, DisplayName: "Alpha 2", APIKey: "key-2", Enabled: false,
		})
	},
	"InsertChatModelConfig": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		return q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
			Provider: fx.providers[1].Provider, Model: "model-new", DisplayName: "New",
			Enabled: true, Options: json.RawMessage(`{"a": [1, 2]}`),
		})
	},
	"UpdateChatModelConfig": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		c := fx.configs[1]
		return q.UpdateChatModelConfig(ctx, chatdb.UpdateChatModelConfigParams{
			ID: c.ID, Provider: c.Provider, Model: c.Model, DisplayName: "Renamed",
			Enabled: !c.Enabled, Options: json.RawMessage(`{"b": true}`),
		})
	},
	"UpsertUserChatCustomPrompt": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		return q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
			UserID: fx.users[1], Prompt: "Be brief.",
		})
	},
	"InsertChat": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		return q.InsertChat(ctx, chatdb.InsertChatParams{
			UserID: fx.users[1], ModelConfigID: fx.configs[1].ID,
		})
	},
	"InsertChatMessage": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		return q.InsertChatMessage(ctx, chatdb.InsertChatMessageParams{
			ChatID: fx.chat.ID, Role: "assistant", Content: "bonjour",
		})
	},
	"SetDefaultChatModelConfig": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		return nil, q.SetDefaultChatModelConfig(ctx, fx.configs[2].ID)
	},
	"ClearDefaultChatModelConfig": func(ctx context.Context, q chatdb.Querier, _ *fixture) (any, error) {
		return nil, q.ClearDefaultChatModelConfig(ctx)
	},
	"DeleteUserChatCustomPrompt": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		return nil, q.DeleteUserChatCustomPrompt(ctx, fx.users[0])
	},
	"DeleteChatModelConfig": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		return nil, q.DeleteChatModelConfig(ctx, fx.configs[1].ID)
	},
	"DeleteChatProvider": func(ctx context.Context, q chatdb.Querier, fx *fixture) (any, error) {
		// Deleting a provider deletes its configs through the foreign key.
		return nil, q.DeleteChatProvider(ctx, fx.providers[0].ID)
	},
	"NotifyInvalidation": func(ctx context.Context, q chatdb.Querier, _ *fixture) (any, error) {
		return nil, q.NotifyInvalidation(ctx, chatdb.NotifyInvalidationParams{
			Channel: "hotread_integration_test", Payload: "v1:all",
		})
	},
}

// TestIntegrationEveryMethodCovered fails when a method of chatdb.Querier
// has no case in readCases or mutationCases, so that a new query gets an
// integration test.
func TestIntegrationEveryMethodCovered(t *testing.T) {
	querier := reflect.TypeFor[chatdb.Querier]()
	for i := range querier.NumMethod() {
		name := querier.Method(i).Name
		_, read := readCases[name]
		_, mutation := mutationCases[name]
		if !read && !mutation {
			t.Errorf("chatdb.Querier.%s has no integration test case", name)
		}
	}
}

// TestIntegrationMutationsMatchDatabase runs each mutation through the
// decorator on a fresh database and checks that it returns what it stored,
// as read back through the generated Querier, and that the hot reads then
// match the database.
func TestIntegrationMutationsMatchDatabase(t *testing.T) {
	for name, mutate := range mutationCases {
		t.Run(name, func(t *testing.T) {
			db := pgserver.TestDB(t)
			plain := chatdb.New(db)
			fx := seedFixture(t, plain)
			cached := newDecorator(t, db)
			checkHotReads(t, cached, plain, fx) // fill every cache

			got, err := mutate(t.Context(), cached, fx)
			if err != nil {
				t.Fatalf("%s through the decorator: %v", name, err)
			}
			stored, err := readBack(t.Context(), plain, got)
			if err != nil {
				t.Fatalf("read back the result of %s: %v", name, err)
			}
			if stored != nil && !reflect.DeepEqual(got, stored) {
				t.Errorf("%s returned\n %+v\nbut the database holds\n %+v", name, got, stored)
			}
			checkHotReads(t, cached, plain, fx)
		})
	}
}

// readBack returns the row that the database holds for a row a mutation
// returned, read through plain, or nil for results that are not rows.
func readBack(ctx context.Context, plain chatdb.Querier, result any) (any, error) {
	switch row := result.(type) {
	case chatdb.ChatProvider:
		return plain.GetChatProviderByID(ctx, row.ID)
	case chatdb.ChatModelConfig:
		return plain.GetChatModelConfigByID(ctx, row.ID)
	case chatdb.UserChatCustomPrompt:
		return plain.GetUserChatCustomPrompt(ctx, row.UserID)
	case chatdb.Chat:
		return plain.GetChatByID(ctx, row.ID)
	case chatdb.ChatMessage:
		messages, err := plain.ListChatMessages(ctx, row.ChatID)
		if err != nil || len(messages) == 0 {
			return nil, err
		}
		return messages[len(messages)-1], nil
	}
	return nil, nil
}

// TestIntegrationMutationErrorsMatchQuerier checks that mutations that
// fail in the database fail the same way through the decorator: a missing
// row is sql.ErrNoRows, and a violated constraint keeps its SQLSTATE.
func TestIntegrationMutationErrorsMatchQuerier(t *testing.T) {
	db := pgserver.TestDB(t)
	plain := chatdb.New(db)
	fx := seedFixture(t, plain)
	cached := newDecorator(t, db)
	ctx := t.Context()

	tests := []struct {
		name string
		call func(q chatdb.Querier) (any, error)
	}{
		{"UpdateChatProvider missing id", func(q chatdb.Querier) (any, error) {
			return q.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{ID: uuid.New(), DisplayName: "x"})
		}},
		{"UpdateChatModelConfig missing id", func(q chatdb.Querier) (any, error) {
			return q.UpdateChatModelConfig(ctx, chatdb.UpdateChatModelConfigParams{
				ID: uuid.New(), Provider: fx.providers[0].Provider, Options: json.RawMessage(`{}`),
			})
		}},
		{"InsertChatProvider duplicate name", func(q chatdb.Querier) (any, error) {
			return q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
				Provider: fx.providers[0].Provider, DisplayName: "again",
			})
		}},
		{"InsertChatModelConfig second default", func(q chatdb.Querier) (any, error) {
			return q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
				Provider: fx.providers[0].Provider, Model: "m", DisplayName: "m",
				IsDefault: true, Options: json.RawMessage(`{}`),
			})
		}},
		{"InsertChatModelConfig unknown provider", func(q chatdb.Querier) (any, error) {
			return q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
				Provider: "no-such-provider", Model: "m", DisplayName: "m", Options: json.RawMessage(`{}`),
			})
		}},
		{"InsertChatModelConfig nil options", func(q chatdb.Querier) (any, error) {
			return q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
				Provider: fx.providers[0].Provider, Model: "m", DisplayName: "m",
			})
		}},
		{"InsertChatMessage unknown chat", func(q chatdb.Querier) (any, error) {
			return q.InsertChatMessage(ctx, chatdb.InsertChatMessageParams{ChatID: uuid.New(), Role: "user"})
		}},
		{"NotifyInvalidation empty channel", func(q chatdb.Querier) (any, error) {
			return nil, q.NotifyInvalidation(ctx, chatdb.NotifyInvalidationParams{Payload: "v1:all"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, wantErr := tt.call(plain)
			if wantErr == nil {
				t.Fatalf("the generated Querier succeeded, want a failing case")
			}
			got, err := tt.call(cached)
			checkSame(t, tt.name, got, err, want, wantErr)
		})
	}
	checkHotReads(t, cached, plain, fx)
}

// TestIntegrationReadAfterMutation applies a sequence of committed
// mutations through the decorator, each after the caches were filled, and
// checks after each one that every hot read returns the new data.
func TestIntegrationReadAfterMutation(t *testing.T) {
	db := pgserver.TestDB(t)
	plain := chatdb.New(db)
	fx := seedFixture(t, plain)
	cached := newDecorator(t, db)
	ctx := t.Context()
	newConfigID := uuid.Nil

	steps := []struct {
		name   string
		mutate func(q chatdb.Querier) error
	}{
		{"insert provider", func(q chatdb.Querier) error {
			_, err := q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
				Provider: "delta", DisplayName: "Delta", Enabled: true,
			})
			return err
		}},
		{"disable provider", func(q chatdb.Querier) error {
			_, err := q.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
				ID: fx.providers[1].ID, DisplayName: "Beta off", Enabled: false,
			})
			return err
		}},
		{"enable provider", func(q chatdb.Querier) error {
			_, err := q.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
				ID: fx.providers[2].ID, DisplayName: "Gamma on", APIKey: "new-key", Enabled: true,
			})
			return err
		}},
		{"update default config", func(q chatdb.Querier) error {
			c := fx.configs[0]
			_, err := q.UpdateChatModelConfig(ctx, chatdb.UpdateChatModelConfigParams{
				ID: c.ID, Provider: c.Provider, Model: c.Model, DisplayName: "Default renamed",
				Enabled: c.Enabled, Options: json.RawMessage(`null`),
			})
			return err
		}},
		{"insert config", func(q chatdb.Querier) error {
			row, err := q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
				Provider: fx.providers[2].Provider, Model: "model-3", DisplayName: "Model 3",
				Enabled: true, Options: json.RawMessage(`{"x": 1}`),
			})
			newConfigID = row.ID
			fx.configs = append(fx.configs, row)
			return err
		}},
		{"move default", func(q chatdb.Querier) error {
			return q.SetDefaultChatModelConfig(ctx, newConfigID)
		}},
		{"clear default", func(q chatdb.Querier) error {
			return q.ClearDefaultChatModelConfig(ctx)
		}},
		{"set default again", func(q chatdb.Querier) error {
			return q.SetDefaultChatModelConfig(ctx, fx.configs[1].ID)
		}},
		{"create prompt", func(q chatdb.Querier) error {
			_, err := q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
				UserID: fx.users[1], Prompt: "Be brief.",
			})
			return err
		}},
		{"change prompt", func(q chatdb.Querier) error {
			_, err := q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
				UserID: fx.users[0], Prompt: "Answer in German.",
			})
			return err
		}},
		{"delete prompt", func(q chatdb.Querier) error {
			return q.DeleteUserChatCustomPrompt(ctx, fx.users[1])
		}},
		{"delete config", func(q chatdb.Querier) error {
			return q.DeleteChatModelConfig(ctx, fx.configs[1].ID)
		}},
		{"delete provider and its configs", func(q chatdb.Querier) error {
			return q.DeleteChatProvider(ctx, fx.providers[0].ID)
		}},
	}
	for _, step := range steps {
		checkHotReads(t, cached, plain, fx) // fill every cache
		before := hotReadSnapshot(t, plain, fx)

		if err := step.mutate(cached); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if reflect.DeepEqual(hotReadSnapshot(t, plain, fx), before) {
			t.Fatalf("%s changed no hot read, so it cannot test invalidation", step.name)
		}
		t.Run(step.name, func(t *testing.T) {
			checkHotReads(t, cached, plain, fx)
		})
	}
}

// hotReadSnapshot returns every hot read of fx's keys through q, errors
// included, in one comparable value.
func hotReadSnapshot(t *testing.T, q chatdb.Querier, fx *fixture) []any {
	t.Helper()
	ctx := t.Context()
	var out []any
	providers, err := q.GetEnabledChatProviders(ctx)
	out = append(out, providers, errorText(err))
	for _, id := range fx.configIDs()[1:] {
		row, err := q.GetChatModelConfigByID(ctx, id)
		out = append(out, row, errorText(err))
	}
	defaultConfig, err := q.GetDefaultChatModelConfig(ctx)
	out = append(out, defaultConfig, errorText(err))
	for _, user := range fx.users {
		row, err := q.GetUserChatCustomPrompt(ctx, user)
		out = append(out, row, errorText(err))
	}
	return out
}

func TestIntegrationInTxSeesOwnWrites(t *testing.T) {
	db := pgserver.TestDB(t)
	plain := chatdb.New(db)
	fx := seedFixture(t, plain)
	cached := newDecorator(t, db)
	ctx := t.Context()
	checkHotReads(t, cached, plain, fx) // fill every cache
	before := hotReadSnapshot(t, plain, fx)

	err := cached.InTx(ctx, nil, func(tq *storewrap.Querier) error {
		if _, err := tq.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
			ID: fx.providers[0].ID, DisplayName: "Alpha off", Enabled: false,
		}); err != nil {
			return err
		}
		providers, err := tq.GetEnabledChatProviders(ctx)
		if err != nil {
			return err
		}
		if len(providers) != 1 || providers[0].ID != fx.providers[1].ID {
			t.Errorf("providers inside the transaction = %+v, want only %s", providers, fx.providers[1].Provider)
		}

		if err := tq.SetDefaultChatModelConfig(ctx, fx.configs[1].ID); err != nil {
			return err
		}
		defaultConfig, err := tq.GetDefaultChatModelConfig(ctx)
		if err != nil {
			return err
		}
		if defaultConfig.ID != fx.configs[1].ID {
			t.Errorf("default inside the transaction = %s, want %s", defaultConfig.ID, fx.configs[1].ID)
		}
		config, err := tq.GetChatModelConfigByID(ctx, fx.configs[0].ID)
		if err != nil {
			return err
		}
		if config.IsDefault {
			t.Error("old default inside the transaction still has IsDefault set")
		}

		if _, err := tq.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
			UserID: fx.users[1], Prompt: "Use short words.",
		}); err != nil {
			return err
		}
		prompt, err := tq.GetUserChatCustomPrompt(ctx, fx.users[1])
		if err != nil {
			return err
		}
		if prompt.Prompt != "Use short words." {
			t.Errorf("prompt inside the transaction = %q, want %q", prompt.Prompt, "Use short words.")
		}

		// Outside the transaction, the cache still serves the committed
		// data, which the database also still returns.
		if got := hotReadSnapshot(t, cached, fx); !reflect.DeepEqual(got, before) {
			t.Errorf("the cache outside the transaction changed before the commit:\n got  %+v\n want %+v", got, before)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}

	if reflect.DeepEqual(hotReadSnapshot(t, plain, fx), before) {
		t.Fatal("the committed transaction changed no hot read")
	}
	checkHotReads(t, cached, plain, fx)
}

func TestIntegrationRollbackChangesNothing(t *testing.T) {
	db := pgserver.TestDB(t)
	plain := chatdb.New(db)
	fx := seedFixture(t, plain)
	cached := newDecorator(t, db)
	ctx := t.Context()
	checkHotReads(t, cached, plain, fx) // fill every cache
	before := hotReadSnapshot(t, plain, fx)
	statsBefore := cached.Stats()

	errAbort := errors.New("abort the transaction")
	err := cached.InTx(ctx, nil, func(tq *storewrap.Querier) error {
		if _, err := tq.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
			ID: fx.providers[0].ID, DisplayName: "gone", Enabled: false,
		}); err != nil {
			return err
		}
		if err := tq.ClearDefaultChatModelConfig(ctx); err != nil {
			return err
		}
		if err := tq.DeleteChatModelConfig(ctx, fx.configs[1].ID); err != nil {
			return err
		}
		if err := tq.DeleteUserChatCustomPrompt(ctx, fx.users[0]); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx = %v, want %v", err, errAbort)
	}

	if got := hotReadSnapshot(t, plain, fx); !reflect.DeepEqual(got, before) {
		t.Errorf("the database changed after a rollback:\n got  %+v\n want %+v", got, before)
	}
	if got := hotReadSnapshot(t, cached, fx); !reflect.DeepEqual(got, before) {
		t.Errorf("the cache changed after a rollback:\n got  %+v\n want %+v", got, before)
	}

	// The reads above were all hits: the rollback invalidated nothing.
	statsAfter := cached.Stats()
	for _, c := range []struct {
		name          string
		before, after uint64
	}{
		{"providers invalidations", statsBefore.Providers.Invalidations, statsAfter.Providers.Invalidations},
		{"model config invalidations", statsBefore.ModelConfig.Invalidations, statsAfter.ModelConfig.Invalidations},
		{"default invalidations", statsBefore.DefaultModelConfig.Invalidations, statsAfter.DefaultModelConfig.Invalidations},
		{"prompt invalidations", statsBefore.UserPrompt.Invalidations, statsAfter.UserPrompt.Invalidations},
		{"providers fills", statsBefore.Providers.Fills, statsAfter.Providers.Fills},
		{"model config fills", statsBefore.ModelConfig.Fills, statsAfter.ModelConfig.Fills},
		{"default fills", statsBefore.DefaultModelConfig.Fills, statsAfter.DefaultModelConfig.Fills},
		{"prompt fills", statsBefore.UserPrompt.Fills, statsAfter.UserPrompt.Fills},
	} {
		if c.after != c.before {
			t.Errorf("%s went from %d to %d across a rolled-back transaction", c.name, c.before, c.after)
		}
	}
}

// TestIntegrationConcurrentWriters has readers hammer the four hot reads
// while writers mutate every cached table, in and out of transactions,
// some of which roll back. After the writers stop, one read of each key
// through the cache must equal the database's result.
func TestIntegrationConcurrentWriters(t *testing.T) {
	db := pgserver.TestDB(t)
	db.SetMaxOpenConns(12)
	plain := chatdb.New(db)
	fx := seedFixture(t, plain)
	cached := newDecorator(t, db)
	ctx := t.Context()

	const (
		readers          = 4
		writes           = 30 // per writer
		maxReadsPerCycle = 2000
	)
	writersDone := make(chan struct{})
	var readersWG, writersWG sync.WaitGroup
	errs := make(chan error, readers+2)

	for r := range readers {
		readersWG.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			configIDs := fx.configIDs()
			for i := 0; ; i++ {
				select {
				case <-writersDone:
					return
				default:
				}
				if i >= maxReadsPerCycle*writes {
					return // a bound in case the writers hang
				}
				if err := readAll(ctx, cached, configIDs[rng.IntN(len(configIDs))],
					fx.users[rng.IntN(len(fx.users))]); err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
			}
		})
	}

	// One writer changes providers and prompts, the other model configs
	// and the default, so that no two calls of SetDefaultChatModelConfig
	// race and fail on the exclusion constraint.
	writers := []func(i int, q chatdb.Querier) error{
		func(i int, q chatdb.Querier) error {
			p := fx.providers[i%len(fx.providers)]
			if _, err := q.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
				ID: p.ID, DisplayName: p.Provider + " " + strconv.Itoa(i), Enabled: i%3 != 0,
			}); err != nil {
				return err
			}
			_, err := q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
				UserID: fx.users[i%len(fx.users)], Prompt: "prompt " + strconv.Itoa(i),
			})
			return err
		},
		func(i int, q chatdb.Querier) error {
			c := fx.configs[i%len(fx.configs)]
			if _, err := q.UpdateChatModelConfig(ctx, chatdb.UpdateChatModelConfigParams{
				ID: c.ID, Provider: c.Provider, Model: c.Model, DisplayName: "config " + strconv.Itoa(i),
				Enabled: true, Options: json.RawMessage(`{"n": ` + strconv.Itoa(i) + `}`),
			}); err != nil {
				return err
			}
			return q.SetDefaultChatModelConfig(ctx, fx.configs[(i+1)%len(fx.configs)].ID)
		},
	}
	errRollback := errors.New("roll back on purpose")
	for w, write := range writers {
		writersWG.Go(func() {
			for i := range writes {
				// The last write, i = writes-1, commits a transaction.
				var err error
				switch (writes - 1 - i) % 3 {
				case 0:
					err = cached.InTx(ctx, nil, func(tq *storewrap.Querier) error { return write(i, tq) })
				case 1:
					err = write(i, cached)
				default:
					err = cached.InTx(ctx, nil, func(tq *storewrap.Querier) error {
						if err := write(i, tq); err != nil {
							return err
						}
						return errRollback
					})
					if errors.Is(err, errRollback) {
						err = nil
					}
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, write %d: %w", w, i, err)
					return
				}
			}
		})
	}

	writersWG.Wait()
	close(writersDone)
	readersWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Only the final comparison counts: one read per key, through the
	// cache, after every write has returned.
	for _, id := range fx.configIDs() {
		got, err := cached.GetChatModelConfigByID(ctx, id)
		want, wantErr := plain.GetChatModelConfigByID(ctx, id)
		checkSame(t, "GetChatModelConfigByID "+id.String(), got, err, want, wantErr)
	}
	providers, err := cached.GetEnabledChatProviders(ctx)
	wantProviders, wantErr := plain.GetEnabledChatProviders(ctx)
	checkSame(t, "GetEnabledChatProviders", providers, err, wantProviders, wantErr)
	defaultConfig, err := cached.GetDefaultChatModelConfig(ctx)
	wantDefault, wantErr := plain.GetDefaultChatModelConfig(ctx)
	checkSame(t, "GetDefaultChatModelConfig", defaultConfig, err, wantDefault, wantErr)
	for _, user := range fx.users {
		got, err := cached.GetUserChatCustomPrompt(ctx, user)
		want, wantErr := plain.GetUserChatCustomPrompt(ctx, user)
		checkSame(t, "GetUserChatCustomPrompt "+user.String(), got, err, want, wantErr)
	}

	st := cached.Stats()
	if st.Providers.Invalidations == 0 || st.UserPrompt.Invalidations == 0 {
		t.Errorf("no invalidation counted (providers %d, prompts %d): the writers changed nothing",
			st.Providers.Invalidations, st.UserPrompt.Invalidations)
	}
}

// readAll makes the four hot reads through q. A missing row is a valid
// result; any other error is returned.
func readAll(ctx context.Context, q chatdb.Querier, configID, user uuid.UUID) error {
	if _, err := q.GetEnabledChatProviders(ctx); err != nil {
		return fmt.Errorf("GetEnabledChatProviders: %w", err)
	}
	if _, err := q.GetChatModelConfigByID(ctx, configID); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("GetChatModelConfigByID: %w", err)
	}
	if _, err := q.GetDefaultChatModelConfig(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("GetDefaultChatModelConfig: %w", err)
	}
	if _, err := q.GetUserChatCustomPrompt(ctx, user); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("GetUserChatCustomPrompt: %w", err)
	}
	return nil
}
