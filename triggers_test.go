package hotread_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/hotread/hotread"
	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/internal/pgserver"
	"github.com/hotread/hotread/storewrap"
)

// notificationWait bounds how long a test waits for one notification on
// loopback.
const notificationWait = 10 * time.Second

// listenTo starts a pq.Listener on channel of dsn and returns its
// notifications. The listener is closed and drained when the test ends.
func listenTo(t *testing.T, dsn, channel string) <-chan *pq.Notification {
	t.Helper()
	l := pq.NewListener(dsn, 10*time.Millisecond, 100*time.Millisecond, nil)
	t.Cleanup(func() {
		_ = l.Close()
		for range l.Notify { // pq closes Notify when its goroutine ends
		}
	})
	if err := l.Listen(channel); err != nil {
		t.Fatalf("LISTEN %s: %v", channel, err)
	}
	return l.Notify
}

// applyTriggers applies hotread.Triggers twice, which also shows that it is
// idempotent.
func applyTriggers(t *testing.T, db *sql.DB) {
	t.Helper()
	for i := range 2 {
		if _, err := db.ExecContext(t.Context(), hotread.Triggers); err != nil {
			t.Fatalf("apply hotread.Triggers, time %d: %v", i+1, err)
		}
	}
}

// collector reads the payloads that one step of a test causes. Each step
// ends with a marker notification sent after its changes committed;
// PostgreSQL delivers notifications in commit order, so every payload that
// arrives before the marker belongs to the step.
type collector struct {
	t       *testing.T
	db      *sql.DB
	channel string
	notes   <-chan *pq.Notification
	steps   int
}

func (c *collector) collect() []string {
	c.t.Helper()
	c.steps++
	marker := fmt.Sprintf("marker-%d", c.steps)
	if _, err := c.db.ExecContext(c.t.Context(), "SELECT pg_notify($1, $2)", c.channel, marker); err != nil {
		c.t.Fatalf("send the marker: %v", err)
	}
	var payloads []string
	timeout := time.NewTimer(notificationWait)
	defer timeout.Stop()
	for {
		select {
		case n := <-c.notes:
			if n == nil {
				c.t.Fatal("the listener reconnected, so notifications may have been lost")
			}
			if n.Extra == marker {
				slices.Sort(payloads)
				return payloads
			}
			payloads = append(payloads, n.Extra)
		case <-timeout.C:
			c.t.Fatalf("no marker notification within %v; payloads so far: %q", notificationWait, payloads)
		}
	}
}

func payloads(invs ...storewrap.Invalidation) []string {
	var p []string
	for _, inv := range invs {
		p = append(p, inv.Payload())
	}
	slices.Sort(p)
	return p
}

func provider(id uuid.UUID) storewrap.Invalidation {
	return storewrap.Invalidation{Kind: storewrap.KindProvider, ID: id}
}

func modelConfig(id uuid.UUID) storewrap.Invalidation {
	return storewrap.Invalidation{Kind: storewrap.KindModelConfig, ID: id}
}

func userPrompt(id uuid.UUID) storewrap.Invalidation {
	return storewrap.Invalidation{Kind: storewrap.KindUserPrompt, ID: id}
}

var all = storewrap.Invalidation{Kind: storewrap.KindAll}

func TestTriggersSendPayloads(t *testing.T) {
	dsn := pgserver.TestDSN(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatalf("open the test database: %v", err)
	}
	defer db.Close()
	applyTriggers(t, db)
	c := &collector{t: t, db: db, channel: storewrap.DefaultChannel,
		notes: listenTo(t, dsn, storewrap.DefaultChannel)}
	ctx := t.Context()
	q := chatdb.New(db)

	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	check := func(step string, want []string) {
		t.Helper()
		if got := c.collect(); !slices.Equal(got, want) {
			t.Errorf("%s: payloads %q, want %q", step, got, want)
		}
	}

	p, err := q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
		Provider: "openai", DisplayName: "OpenAI", Enabled: true})
	if err != nil {
		t.Fatalf("InsertChatProvider: %v", err)
	}
	check("insert provider", payloads(provider(p.ID)))

	exec("UPDATE chat_providers SET display_name = 'Open AI' WHERE id = $1", p.ID)
	check("update provider", payloads(provider(p.ID)))

	insertConfig := func(model string) chatdb.ChatModelConfig {
		t.Helper()
		m, err := q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
			Provider: "openai", Model: model, DisplayName: model, Enabled: true,
			Options: json.RawMessage(`{}`)})
		if err != nil {
			t.Fatalf("InsertChatModelConfig: %v", err)
		}
		return m
	}
	m1 := insertConfig("m1")
	check("insert model config", payloads(modelConfig(m1.ID)))
	m2 := insertConfig("m2")
	check("insert second model config", payloads(modelConfig(m2.ID)))

	exec("UPDATE chat_model_configs SET options = '{\"t\": 1}' WHERE id = $1", m1.ID)
	check("update model config", payloads(modelConfig(m1.ID)))

	if err := q.SetDefaultChatModelConfig(ctx, m1.ID); err != nil {
		t.Fatalf("SetDefaultChatModelConfig: %v", err)
	}
	check("set the first default", payloads(modelConfig(m1.ID)))
	if err := q.SetDefaultChatModelConfig(ctx, m2.ID); err != nil {
		t.Fatalf("SetDefaultChatModelConfig: %v", err)
	}
	check("move the default", payloads(modelConfig(m1.ID), modelConfig(m2.ID)))

	newID := uuid.New()
	exec("UPDATE chat_model_configs SET id = $1 WHERE id = $2", newID, m1.ID)
	check("change a model config's id", payloads(modelConfig(m1.ID), modelConfig(newID)))

	exec("UPDATE chat_providers SET provider = 'openai2' WHERE id = $1", p.ID)
	check("rename provider, cascading to its configs",
		payloads(provider(p.ID), modelConfig(newID), modelConfig(m2.ID)))

	exec("DELETE FROM chat_model_configs WHERE id = $1", newID)
	check("delete model config", payloads(modelConfig(newID)))

	exec("DELETE FROM chat_providers WHERE id = $1", p.ID)
	check("delete provider, cascading to its configs", payloads(provider(p.ID), modelConfig(m2.ID)))

	user, otherUser := uuid.New(), uuid.New()
	for _, prompt := range []string{"first", "second"} {
		_, err := q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
			UserID: user, Prompt: prompt})
		if err != nil {
			t.Fatalf("UpsertUserChatCustomPrompt: %v", err)
		}
		check("upsert prompt "+prompt, payloads(userPrompt(user)))
	}
	exec("UPDATE user_chat_custom_prompts SET user_id = $1 WHERE user_id = $2", otherUser, user)
	check("change a prompt's user", payloads(userPrompt(user), userPrompt(otherUser)))
	if err := q.DeleteUserChatCustomPrompt(ctx, otherUser); err != nil {
		t.Fatalf("DeleteUserChatCustomPrompt: %v", err)
	}
	check("delete prompt", payloads(userPrompt(otherUser)))

	exec("INSERT INTO user_chat_custom_prompts (user_id, prompt) VALUES ($1, 'nil user')", uuid.Nil)
	check("prompt of the nil user id", payloads(all))

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO user_chat_custom_prompts (user_id, prompt) VALUES ($1, 'x')",
		uuid.New()); err != nil {
		t.Fatalf("insert in a transaction: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	check("rolled-back insert", nil)

	// The trigger functions call only built-in functions, so a session
	// whose search_path omits the schema of the triggers still works.
	searchPathUser := uuid.New()
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback()
	for _, query := range []string{
		"SET LOCAL search_path TO ''",
		"INSERT INTO public.user_chat_custom_prompts (user_id, prompt) VALUES ('" + searchPathUser.String() + "', 'x')",
	} {
		if _, err := tx.ExecContext(ctx, query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	check("insert with an empty search_path", payloads(userPrompt(searchPathUser)))

	exec("INSERT INTO chat_providers (provider, display_name) VALUES ('bulk1', 'b'), ('bulk2', 'b')")
	c.collect()
	exec("TRUNCATE chat_providers CASCADE")
	check("truncate providers and their configs", payloads(all))
	exec("TRUNCATE user_chat_custom_prompts")
	check("truncate prompts", payloads(all))
}

func TestTriggersChannelSetting(t *testing.T) {
	dsn := pgserver.TestDSN(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatalf("open the test database: %v", err)
	}
	defer db.Close()
	applyTriggers(t, db)

	const channel = "app_invalidate"
	notes := listenTo(t, dsn, channel)
	defaultNotes := listenTo(t, dsn, storewrap.DefaultChannel)
	// A setting of the database applies to sessions that start afterwards,
	// so the pool's connections are dropped first.
	if _, err := db.ExecContext(t.Context(),
		fmt.Sprintf("ALTER DATABASE %s SET hotread.notify_channel = '%s'", databaseName(t, db), channel)); err != nil {
		t.Fatalf("set hotread.notify_channel: %v", err)
	}
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(2)

	var id uuid.UUID
	err = db.QueryRowContext(t.Context(),
		"INSERT INTO chat_providers (provider, display_name) VALUES ('p', 'P') RETURNING id").Scan(&id)
	if err != nil {
		t.Fatalf("insert provider: %v", err)
	}
	c := &collector{t: t, db: db, channel: channel, notes: notes}
	if got, want := c.collect(), payloads(provider(id)); !slices.Equal(got, want) {
		t.Errorf("payloads on %s: %q, want %q", channel, got, want)
	}
	d := &collector{t: t, db: db, channel: storewrap.DefaultChannel, notes: defaultNotes}
	if got := d.collect(); len(got) != 0 {
		t.Errorf("payloads on %s: %q, want none", storewrap.DefaultChannel, got)
	}
}

func databaseName(t *testing.T, db *sql.DB) string {
	t.Helper()
	var name string
	if err := db.QueryRowContext(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatalf("current_database: %v", err)
	}
	return pq.QuoteIdentifier(name)
}
