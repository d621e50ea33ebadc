package storewrap

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/internal/pgserver"
)

// TestPostgresSmoke runs the decorator against a real PostgreSQL: cached
// reads, mutations that publish in their own transaction, a caller's
// transaction that commits and one that rolls back.
func TestPostgresSmoke(t *testing.T) {
	db := pgserver.TestDB(t)
	ctx := t.Context()
	q, err := New(chatdb.New(db), Options{DB: db})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer q.Close()

	provider, err := q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
		Provider: "openai", DisplayName: "OpenAI", APIKey: "sk-test", Enabled: true,
	})
	if err != nil {
		t.Fatalf("InsertChatProvider: %v", err)
	}
	config, err := q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
		Provider: "openai", Model: "gpt", DisplayName: "GPT", Enabled: true,
		Options: json.RawMessage(`{"temperature": 0.5}`),
	})
	if err != nil {
		t.Fatalf("InsertChatModelConfig: %v", err)
	}

	// A missing default and a missing prompt are cached as sql.ErrNoRows.
	user := uuid.New()
	for range 2 {
		if _, err := q.GetDefaultChatModelConfig(ctx); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("GetDefaultChatModelConfig: error = %v, want sql.ErrNoRows", err)
		}
		if _, err := q.GetUserChatCustomPrompt(ctx, user); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("GetUserChatCustomPrompt: error = %v, want sql.ErrNoRows", err)
		}
	}
	if got := q.Stats().UserPrompt.Fills; got != 1 {
		t.Errorf("UserPrompt.Fills = %d, want 1", got)
	}

	if err := q.SetDefaultChatModelConfig(ctx, config.ID); err != nil {
		t.Fatalf("SetDefaultChatModelConfig: %v", err)
	}
	def, err := q.GetDefaultChatModelConfig(ctx)
	if err != nil || def.ID != config.ID {
		t.Fatalf("GetDefaultChatModelConfig after SetDefault = %v, %v; want config %v", def.ID, err, config.ID)
	}
	if _, err := q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
		UserID: user, Prompt: "be brief",
	}); err != nil {
		t.Fatalf("UpsertUserChatCustomPrompt: %v", err)
	}
	prompt, err := q.GetUserChatCustomPrompt(ctx, user)
	if err != nil || prompt.Prompt != "be brief" {
		t.Fatalf("GetUserChatCustomPrompt after Upsert = %q, %v; want \"be brief\"", prompt.Prompt, err)
	}

	for range 3 {
		providers, err := q.GetEnabledChatProviders(ctx)
		if err != nil || len(providers) != 1 || providers[0].DisplayName != "OpenAI" {
			t.Fatalf("GetEnabledChatProviders = %+v, %v; want OpenAI", providers, err)
		}
	}
	fills := q.Stats().Providers.Fills

	rename := func(tq *Querier, name string) error {
		_, err := tq.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
			ID: provider.ID, DisplayName: name, APIKey: "sk-test", Enabled: true,
		})
		return err
	}
	errRollback := errors.New("storewrap test: roll back")
	err = q.InTx(ctx, nil, func(tq *Querier) error {
		if err := rename(tq, "Rolled back"); err != nil {
			return err
		}
		checkProviderName(ctx, t, "inside the transaction", tq, "Rolled back")
		return errRollback
	})
	if err != errRollback {
		t.Fatalf("InTx: error = %v, want %v", err, errRollback)
	}
	checkProviderName(ctx, t, "after a rollback", q, "OpenAI")
	if got := q.Stats().Providers.Fills; got != fills {
		t.Errorf("Providers.Fills after a rollback = %d, want %d: nothing to invalidate", got, fills)
	}

	err = q.InTx(ctx, nil, func(tq *Querier) error {
		if err := rename(tq, "OpenAI EU"); err != nil {
			return err
		}
		checkProviderName(ctx, t, "outside the transaction before commit", q, "OpenAI")
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	checkProviderName(ctx, t, "after commit", q, "OpenAI EU")
}

func checkProviderName(ctx context.Context, t *testing.T, when string, q *Querier, want string) {
	t.Helper()
	providers, err := q.GetEnabledChatProviders(ctx)
	if err != nil {
		t.Fatalf("%s: GetEnabledChatProviders: %v", when, err)
	}
	if len(providers) != 1 || providers[0].DisplayName != want {
		t.Errorf("%s: GetEnabledChatProviders = %+v, want one provider named %q", when, providers, want)
	}
}
