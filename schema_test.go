package hotread_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"go.uber.org/goleak"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/internal/pgserver"
)

// SQLSTATE codes that the schema's constraints raise.
const (
	notNullViolation   = "23502"
	exclusionViolation = "23P01"
)

func TestMain(m *testing.M) {
	code := pgserver.RunTests(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func sqlState(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.SQLState()
	}
	return ""
}

// seedConfigs inserts one provider and n model configs, none the default,
// and returns the configs in insertion order.
func seedConfigs(t *testing.T, q *chatdb.Queries, n int) []chatdb.ChatModelConfig {
	t.Helper()
	ctx := t.Context()
	_, err := q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
		Provider: "openai", DisplayName: "OpenAI", Enabled: true,
	})
	if err != nil {
		t.Fatalf("InsertChatProvider: %v", err)
	}
	configs := make([]chatdb.ChatModelConfig, n)
	for i := range configs {
		configs[i], err = q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
			Provider:    "openai",
			Model:       fmt.Sprintf("model-%d", i),
			DisplayName: fmt.Sprintf("Model %d", i),
			Enabled:     true,
			Options:     json.RawMessage(`{}`),
		})
		if err != nil {
			t.Fatalf("InsertChatModelConfig %d: %v", i, err)
		}
	}
	return configs
}

// defaultIDs returns the ids of every config marked as the default.
func defaultIDs(t *testing.T, db *sql.DB) []uuid.UUID {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT id FROM chat_model_configs WHERE is_default")
	if err != nil {
		t.Fatalf("query defaults: %v", err)
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("scan default id: %v", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("query defaults: %v", err)
	}
	return ids
}

func wantOnlyDefault(t *testing.T, db *sql.DB, want uuid.UUID) {
	t.Helper()
	got := defaultIDs(t, db)
	if len(got) != 1 || got[0] != want {
		t.Fatalf("defaults = %v, want only %v", got, want)
	}
}

// TestSetDefaultMovesInOneStatement moves the default back and forth
// between rows on either side of each other in the heap, so that the
// UPDATE meets the new default before the old one in one direction or the
// other. A constraint checked per row would fail in that case.
func TestSetDefaultMovesInOneStatement(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	configs := seedConfigs(t, q, 3)

	for i, id := range []uuid.UUID{configs[0].ID, configs[2].ID, configs[1].ID, configs[0].ID, configs[2].ID} {
		if err := q.SetDefaultChatModelConfig(t.Context(), id); err != nil {
			t.Fatalf("step %d: SetDefaultChatModelConfig(%v): %v", i, id, err)
		}
		wantOnlyDefault(t, db, id)
		got, err := q.GetDefaultChatModelConfig(t.Context())
		if err != nil {
			t.Fatalf("step %d: GetDefaultChatModelConfig: %v", i, err)
		}
		if got.ID != id {
			t.Errorf("step %d: GetDefaultChatModelConfig returned %v, want %v", i, got.ID, id)
		}
	}
}

// TestSetDefaultNeedsDeferrableConstraint replaces the constraint with one
// that is not deferrable and runs the steps of
// TestSetDefaultMovesInOneStatement, which must then fail. This shows that
// those steps do meet the new default before the old one.
func TestSetDefaultNeedsDeferrableConstraint(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	configs := seedConfigs(t, q, 3)
	_, err := db.ExecContext(t.Context(), `ALTER TABLE chat_model_configs
		DROP CONSTRAINT chat_model_configs_one_default,
		ADD CONSTRAINT chat_model_configs_one_default EXCLUDE (is_default WITH =) WHERE (is_default)`)
	if err != nil {
		t.Fatalf("replace the constraint: %v", err)
	}

	for _, id := range []uuid.UUID{configs[0].ID, configs[2].ID, configs[1].ID, configs[0].ID, configs[2].ID} {
		err := q.SetDefaultChatModelConfig(t.Context(), id)
		if err == nil {
			continue
		}
		if got := sqlState(err); got != exclusionViolation {
			t.Fatalf("SetDefaultChatModelConfig(%v): error %v (SQLSTATE %q), want SQLSTATE %s",
				id, err, got, exclusionViolation)
		}
		return
	}
	t.Fatal("every step passed with a constraint checked per row, so the steps never set the new default first")
}

func TestSetDefaultSameIDKeepsIt(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	configs := seedConfigs(t, q, 2)

	for range 2 {
		if err := q.SetDefaultChatModelConfig(t.Context(), configs[1].ID); err != nil {
			t.Fatalf("SetDefaultChatModelConfig: %v", err)
		}
	}
	wantOnlyDefault(t, db, configs[1].ID)
}

func TestSetDefaultUnknownIDChangesNothing(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	configs := seedConfigs(t, q, 2)
	if err := q.SetDefaultChatModelConfig(t.Context(), configs[0].ID); err != nil {
		t.Fatalf("SetDefaultChatModelConfig: %v", err)
	}

	if err := q.SetDefaultChatModelConfig(t.Context(), uuid.New()); err != nil {
		t.Fatalf("SetDefaultChatModelConfig with an unknown id: %v", err)
	}
	wantOnlyDefault(t, db, configs[0].ID)
}

func TestSecondDefaultRejected(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	configs := seedConfigs(t, q, 2)
	if err := q.SetDefaultChatModelConfig(t.Context(), configs[0].ID); err != nil {
		t.Fatalf("SetDefaultChatModelConfig: %v", err)
	}

	_, err := q.InsertChatModelConfig(t.Context(), chatdb.InsertChatModelConfigParams{
		Provider: "openai", Model: "other", DisplayName: "Other", IsDefault: true,
		Options: json.RawMessage(`{}`),
	})
	if got := sqlState(err); got != exclusionViolation {
		t.Errorf("insert of a second default: error %v (SQLSTATE %q), want SQLSTATE %s", err, got, exclusionViolation)
	}
	_, err = db.ExecContext(t.Context(),
		"UPDATE chat_model_configs SET is_default = true WHERE id = $1", configs[1].ID)
	if got := sqlState(err); got != exclusionViolation {
		t.Errorf("update to a second default: error %v (SQLSTATE %q), want SQLSTATE %s", err, got, exclusionViolation)
	}
	wantOnlyDefault(t, db, configs[0].ID)
}

func TestClearDefault(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	configs := seedConfigs(t, q, 2)
	if err := q.SetDefaultChatModelConfig(t.Context(), configs[1].ID); err != nil {
		t.Fatalf("SetDefaultChatModelConfig: %v", err)
	}

	if err := q.ClearDefaultChatModelConfig(t.Context()); err != nil {
		t.Fatalf("ClearDefaultChatModelConfig: %v", err)
	}
	if got := defaultIDs(t, db); len(got) != 0 {
		t.Errorf("defaults after clear = %v, want none", got)
	}
	if _, err := q.GetDefaultChatModelConfig(t.Context()); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("GetDefaultChatModelConfig after clear: %v, want sql.ErrNoRows", err)
	}
}

// TestSetDefaultConcurrent runs two SetDefaultChatModelConfig calls for
// different ids in overlapping transactions. The second cannot see the row
// the first sets, so the database must reject it rather than keep two
// defaults.
func TestSetDefaultConcurrent(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	configs := seedConfigs(t, q, 3)
	if err := q.SetDefaultChatModelConfig(t.Context(), configs[0].ID); err != nil {
		t.Fatalf("SetDefaultChatModelConfig: %v", err)
	}

	first, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer first.Rollback()
	if err := q.WithTx(first).SetDefaultChatModelConfig(t.Context(), configs[1].ID); err != nil {
		t.Fatalf("first SetDefaultChatModelConfig: %v", err)
	}

	second := make(chan error, 1)
	go func() {
		second <- q.SetDefaultChatModelConfig(t.Context(), configs[2].ID)
	}()
	waitForLockWait(t, db)
	if err := first.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}

	err = <-second
	if got := sqlState(err); got != exclusionViolation {
		t.Errorf("second SetDefaultChatModelConfig: error %v (SQLSTATE %q), want SQLSTATE %s",
			err, got, exclusionViolation)
	}
	wantOnlyDefault(t, db, configs[1].ID)
}

// waitForLockWait returns once some session of db's database waits for a
// lock.
func waitForLockWait(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ticker := time.NewTicker(5 * time.Millisecond)
	defer ticker.Stop()
	for {
		var waiting int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatalf("no session waited for a lock: %v", err)
		}
		if waiting > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no session waited for a lock: %v", ctx.Err())
		case <-ticker.C:
		}
	}
}

// TestOptionsNullHandling checks the claims in schema.sql about SQL NULL
// and JSON null in chat_model_configs.options.
func TestOptionsNullHandling(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	seedConfigs(t, q, 0)

	t.Run("sql null cannot be scanned", func(t *testing.T) {
		var options json.RawMessage
		err := db.QueryRowContext(t.Context(), "SELECT NULL::jsonb").Scan(&options)
		if err == nil || !strings.Contains(err.Error(), "unsupported Scan") {
			t.Errorf("scan of SQL NULL into json.RawMessage: %v, want an unsupported Scan error", err)
		}
	})
	t.Run("json null round trip", func(t *testing.T) {
		got, err := q.InsertChatModelConfig(t.Context(), chatdb.InsertChatModelConfigParams{
			Provider: "openai", Model: "null-options", DisplayName: "Null", Options: json.RawMessage(`null`),
		})
		if err != nil {
			t.Fatalf("InsertChatModelConfig with JSON null: %v", err)
		}
		if string(got.Options) != "null" {
			t.Errorf("Options = %q, want %q", got.Options, "null")
		}
	})
	t.Run("nil options rejected", func(t *testing.T) {
		_, err := q.InsertChatModelConfig(t.Context(), chatdb.InsertChatModelConfigParams{
			Provider: "openai", Model: "nil-options", DisplayName: "Nil", Options: nil,
		})
		if got := sqlState(err); got != notNullViolation {
			t.Errorf("InsertChatModelConfig with nil Options: error %v (SQLSTATE %q), want SQLSTATE %s",
				err, got, notNullViolation)
		}
	})
	t.Run("default is an empty object", func(t *testing.T) {
		var options json.RawMessage
		err := db.QueryRowContext(t.Context(), `INSERT INTO chat_model_configs (provider, model, display_name)
			VALUES ('openai', 'defaults', 'Defaults') RETURNING options`).Scan(&options)
		if err != nil {
			t.Fatalf("insert without options: %v", err)
		}
		if string(options) != "{}" {
			t.Errorf("options = %q, want {}", options)
		}
	})
}

func TestDeleteProviderCascades(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	configs := seedConfigs(t, q, 2)
	providers, err := q.ListChatProviders(t.Context())
	if err != nil || len(providers) != 1 {
		t.Fatalf("ListChatProviders = %v, %v, want one provider", providers, err)
	}

	if err := q.DeleteChatProvider(t.Context(), providers[0].ID); err != nil {
		t.Fatalf("DeleteChatProvider: %v", err)
	}
	for _, c := range configs {
		if _, err := q.GetChatModelConfigByID(t.Context(), c.ID); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("GetChatModelConfigByID(%v) after deleting its provider: %v, want sql.ErrNoRows", c.ID, err)
		}
	}
}

func TestRenameProviderCascades(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	configs := seedConfigs(t, q, 1)

	if _, err := db.ExecContext(t.Context(),
		"UPDATE chat_providers SET provider = 'renamed' WHERE provider = 'openai'"); err != nil {
		t.Fatalf("rename provider: %v", err)
	}
	got, err := q.GetChatModelConfigByID(t.Context(), configs[0].ID)
	if err != nil {
		t.Fatalf("GetChatModelConfigByID: %v", err)
	}
	if got.Provider != "renamed" {
		t.Errorf("config provider = %q, want %q", got.Provider, "renamed")
	}
}

// TestNotifyDeliveredOnCommit checks that a notification sent inside a
// transaction arrives only if the transaction commits.
func TestNotifyDeliveredOnCommit(t *testing.T) {
	dsn := pgserver.TestDSN(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := chatdb.New(db)

	listener := pq.NewListener(dsn, 10*time.Millisecond, time.Second, nil)
	defer listener.Close()
	const channel = "hotread_test"
	if err := listener.Listen(channel); err != nil {
		t.Fatalf("Listen: %v", err)
	}

	notifyInTx := func(payload string, commit bool) {
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatalf("begin: %v", err)
		}
		params := chatdb.NotifyInvalidationParams{Channel: channel, Payload: payload}
		if err := q.WithTx(tx).NotifyInvalidation(t.Context(), params); err != nil {
			t.Fatalf("NotifyInvalidation(%q): %v", payload, err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatalf("end transaction: %v", err)
		}
	}
	notifyInTx("rolled back", false)
	notifyInTx("committed", true)

	// Notifications arrive in commit order, so if the rolled-back one had
	// been sent it would arrive first.
	select {
	case n := <-listener.NotificationChannel():
		if n == nil {
			t.Fatal("listener reconnected instead of delivering the notification")
		}
		if n.Channel != channel || n.Extra != "committed" {
			t.Errorf("notification = %q on %q, want %q on %q", n.Extra, n.Channel, "committed", channel)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10s after the commit")
	}
}

// TestQueriesRoundTrip runs every generated query that the other tests do
// not, against the real schema, and checks what each returns.
func TestQueriesRoundTrip(t *testing.T) {
	db := pgserver.TestDB(t)
	q := chatdb.New(db)
	ctx := t.Context()

	var providers []chatdb.ChatProvider
	for _, p := range []chatdb.InsertChatProviderParams{
		{Provider: "zeta", DisplayName: "Zeta", Enabled: true},
		{Provider: "alpha", DisplayName: "Alpha", APIKey: "secret", Enabled: true},
		{Provider: "off", DisplayName: "Off", Enabled: false},
	} {
		got, err := q.InsertChatProvider(ctx, p)
		if err != nil {
			t.Fatalf("InsertChatProvider(%s): %v", p.Provider, err)
		}
		providers = append(providers, got)
	}

	t.Run("providers", func(t *testing.T) {
		enabled, err := q.GetEnabledChatProviders(ctx)
		if err != nil {
			t.Fatalf("GetEnabledChatProviders: %v", err)
		}
		if got := providerNames(enabled); got != "alpha,zeta" {
			t.Errorf("GetEnabledChatProviders = %s, want alpha,zeta", got)
		}
		all, err := q.ListChatProviders(ctx)
		if err != nil {
			t.Fatalf("ListChatProviders: %v", err)
		}
		if got := providerNames(all); got != "alpha,off,zeta" {
			t.Errorf("ListChatProviders = %s, want alpha,off,zeta", got)
		}

		updated, err := q.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
			ID: providers[2].ID, DisplayName: "On", APIKey: "k", Enabled: true,
		})
		if err != nil {
			t.Fatalf("UpdateChatProvider: %v", err)
		}
		if updated.DisplayName != "On" || updated.APIKey != "k" || !updated.Enabled {
			t.Errorf("UpdateChatProvider returned %+v, want display name On, API key k, enabled", updated)
		}
		if !updated.UpdatedAt.After(providers[2].UpdatedAt) {
			t.Errorf("UpdatedAt = %v, want after %v", updated.UpdatedAt, providers[2].UpdatedAt)
		}
		got, err := q.GetChatProviderByID(ctx, providers[2].ID)
		if err != nil {
			t.Fatalf("GetChatProviderByID: %v", err)
		}
		if got.DisplayName != "On" {
			t.Errorf("GetChatProviderByID display name = %q, want On", got.DisplayName)
		}

		_, err = q.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{ID: uuid.New(), DisplayName: "x"})
		if !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("UpdateChatProvider with an unknown id: %v, want sql.ErrNoRows", err)
		}
		if _, err := q.GetChatProviderByID(ctx, uuid.New()); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("GetChatProviderByID with an unknown id: %v, want sql.ErrNoRows", err)
		}
	})

	t.Run("model configs", func(t *testing.T) {
		config, err := q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
			Provider: "zeta", Model: "z1", DisplayName: "Z1", Enabled: true,
			Options: json.RawMessage(`{"temperature": 0.5}`),
		})
		if err != nil {
			t.Fatalf("InsertChatModelConfig: %v", err)
		}
		updated, err := q.UpdateChatModelConfig(ctx, chatdb.UpdateChatModelConfigParams{
			ID: config.ID, Provider: "alpha", Model: "a1", DisplayName: "A1", Enabled: false,
			Options: json.RawMessage(`[1, 2]`),
		})
		if err != nil {
			t.Fatalf("UpdateChatModelConfig: %v", err)
		}
		if updated.Provider != "alpha" || updated.Model != "a1" || updated.Enabled || string(updated.Options) != "[1, 2]" {
			t.Errorf("UpdateChatModelConfig returned %+v, want provider alpha, model a1, disabled, options [1, 2]", updated)
		}
		_, err = q.UpdateChatModelConfig(ctx, chatdb.UpdateChatModelConfigParams{
			ID: uuid.New(), Provider: "alpha", Options: json.RawMessage(`{}`),
		})
		if !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("UpdateChatModelConfig with an unknown id: %v, want sql.ErrNoRows", err)
		}

		all, err := q.ListChatModelConfigs(ctx)
		if err != nil {
			t.Fatalf("ListChatModelConfigs: %v", err)
		}
		if len(all) != 1 || all[0].ID != config.ID {
			t.Errorf("ListChatModelConfigs = %+v, want only %v", all, config.ID)
		}
		if err := q.DeleteChatModelConfig(ctx, config.ID); err != nil {
			t.Fatalf("DeleteChatModelConfig: %v", err)
		}
		if _, err := q.GetChatModelConfigByID(ctx, config.ID); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("GetChatModelConfigByID after delete: %v, want sql.ErrNoRows", err)
		}
		empty, err := q.ListChatModelConfigs(ctx)
		if err != nil {
			t.Fatalf("ListChatModelConfigs: %v", err)
		}
		if empty == nil || len(empty) != 0 {
			t.Errorf("ListChatModelConfigs on an empty table = %#v, want an empty non-nil slice", empty)
		}
	})

	t.Run("custom prompts", func(t *testing.T) {
		user := uuid.New()
		if _, err := q.GetUserChatCustomPrompt(ctx, user); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("GetUserChatCustomPrompt for a user without one: %v, want sql.ErrNoRows", err)
		}
		for _, prompt := range []string{"be brief", "be kind"} {
			got, err := q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
				UserID: user, Prompt: prompt,
			})
			if err != nil {
				t.Fatalf("UpsertUserChatCustomPrompt(%q): %v", prompt, err)
			}
			if got.Prompt != prompt {
				t.Errorf("UpsertUserChatCustomPrompt returned %q, want %q", got.Prompt, prompt)
			}
		}
		got, err := q.GetUserChatCustomPrompt(ctx, user)
		if err != nil {
			t.Fatalf("GetUserChatCustomPrompt: %v", err)
		}
		if got.UserID != user || got.Prompt != "be kind" {
			t.Errorf("GetUserChatCustomPrompt = %+v, want user %v with prompt %q", got, user, "be kind")
		}
		if err := q.DeleteUserChatCustomPrompt(ctx, user); err != nil {
			t.Fatalf("DeleteUserChatCustomPrompt: %v", err)
		}
		if _, err := q.GetUserChatCustomPrompt(ctx, user); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("GetUserChatCustomPrompt after delete: %v, want sql.ErrNoRows", err)
		}
	})

	t.Run("chats and messages", func(t *testing.T) {
		chat, err := q.InsertChat(ctx, chatdb.InsertChatParams{UserID: uuid.New(), ModelConfigID: uuid.New()})
		if err != nil {
			t.Fatalf("InsertChat: %v", err)
		}
		if chat.Title.Valid {
			t.Errorf("InsertChat without a title stored title %q, want NULL", chat.Title.String)
		}
		got, err := q.GetChatByID(ctx, chat.ID)
		if err != nil {
			t.Fatalf("GetChatByID: %v", err)
		}
		if got.UserID != chat.UserID {
			t.Errorf("GetChatByID user = %v, want %v", got.UserID, chat.UserID)
		}

		for _, content := range []string{"hello", "hi there"} {
			_, err := q.InsertChatMessage(ctx, chatdb.InsertChatMessageParams{
				ChatID: chat.ID, Role: "user", Content: content,
			})
			if err != nil {
				t.Fatalf("InsertChatMessage(%q): %v", content, err)
			}
		}
		messages, err := q.ListChatMessages(ctx, chat.ID)
		if err != nil {
			t.Fatalf("ListChatMessages: %v", err)
		}
		if len(messages) != 2 || messages[0].Content != "hello" || messages[1].Content != "hi there" {
			t.Errorf("ListChatMessages = %+v, want hello then hi there", messages)
		}
		count, err := q.CountChatMessages(ctx)
		if err != nil {
			t.Fatalf("CountChatMessages: %v", err)
		}
		if count != 2 {
			t.Errorf("CountChatMessages = %d, want 2", count)
		}
		_, err = q.InsertChatMessage(ctx, chatdb.InsertChatMessageParams{ChatID: uuid.New(), Role: "user"})
		if err == nil {
			t.Error("InsertChatMessage for a missing chat returned no error")
		}
	})
}

func providerNames(providers []chatdb.ChatProvider) string {
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = p.Provider
	}
	return strings.Join(names, ",")
}
