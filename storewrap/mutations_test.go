package storewrap

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

// write describes one method that writes, for table-driven tests.
type write struct {
	name string
	// expect expects the method's query. It returns want's row, or fails
	// with err when err is not nil.
	expect func(mock sqlmock.Sqlmock, err error)
	// call runs the method through q and returns its result (nil for a
	// method that returns only an error).
	call func(ctx context.Context, q *Querier) (any, error)
	// want is the result that call must return on success.
	want any
	// inv is the invalidation the method publishes; the zero value for a
	// pass-through, which publishes nothing.
	inv Invalidation
	// affects lists the reads of readAll that the method invalidates.
	affects readSet
}

var (
	newProvider = chatdb.ChatProvider{
		ID: uuid.MustParse("00000000-0000-4000-8000-0000000000f1"), Provider: "gamma",
		DisplayName: "Gamma", APIKey: "key-g", Enabled: true, CreatedAt: testTime, UpdatedAt: testTime,
	}
	updatedProvider = chatdb.ChatProvider{
		ID: providerA.ID, Provider: providerA.Provider, DisplayName: "Alpha 2",
		APIKey: "key-a2", Enabled: true, CreatedAt: testTime, UpdatedAt: testTime,
	}
	newConfig = chatdb.ChatModelConfig{
		ID: uuid.MustParse("00000000-0000-4000-8000-0000000000f2"), Provider: "alpha", Model: "m-new",
		DisplayName: "New", Enabled: true, Options: json.RawMessage(`{"new":true}`),
		CreatedAt: testTime, UpdatedAt: testTime,
	}
	updatedConfigC = chatdb.ChatModelConfig{
		ID: configC.ID, Provider: "alpha", Model: "m-c2", DisplayName: "C2", Enabled: true,
		IsDefault: true, Options: json.RawMessage(`{"temperature":0.7}`),
		CreatedAt: testTime, UpdatedAt: testTime,
	}
	upsertedPromptU = chatdb.UserChatCustomPrompt{UserID: promptU.UserID, Prompt: "be briefer", UpdatedAt: testTime}
	chat            = chatdb.Chat{
		ID: uuid.MustParse("00000000-0000-4000-8000-0000000000f3"), UserID: promptU.UserID,
		ModelConfigID: configC.ID, CreatedAt: testTime,
	}
	chatMessage = chatdb.ChatMessage{ID: 7, ChatID: chat.ID, Role: "user", Content: "hi", CreatedAt: testTime}
)

// expectRow returns an expect function for a query that returns rows.
func expectRow(name string, rows func() *sqlmock.Rows, args ...driver.Value) func(sqlmock.Sqlmock, error) {
	return func(mock sqlmock.Sqlmock, err error) {
		e := mock.ExpectQuery(name).WithArgs(args...)
		if err != nil {
			e.WillReturnError(err)
			return
		}
		e.WillReturnRows(rows())
	}
}

// expectExec returns an expect function for a statement without rows.
func expectExec(name string, args ...driver.Value) func(sqlmock.Sqlmock, error) {
	return func(mock sqlmock.Sqlmock, err error) {
		e := mock.ExpectExec(name)
		if len(args) > 0 {
			e.WithArgs(args...)
		} else {
			e.WithoutArgs()
		}
		if err != nil {
			e.WillReturnError(err)
			return
		}
		e.WillReturnResult(driver.RowsAffected(1))
	}
}

// writes lists every mutation of the rules, and the pass-through writes.
var writes = []write{
	{
		name: "InsertChatProvider",
		expect: expectRow("InsertChatProvider", func() *sqlmock.Rows { return providerRows(newProvider) },
			"gamma", "Gamma", "key-g", true),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
				Provider: "gamma", DisplayName: "Gamma", APIKey: "key-g", Enabled: true,
			})
		},
		want:    newProvider,
		inv:     Invalidation{Kind: KindProvider, ID: newProvider.ID},
		affects: readProviders | readAllConfig,
	},
	{
		name: "UpdateChatProvider",
		expect: expectRow("UpdateChatProvider", func() *sqlmock.Rows { return providerRows(updatedProvider) },
			"Alpha 2", "key-a2", true, providerA.ID),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return q.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
				DisplayName: "Alpha 2", APIKey: "key-a2", Enabled: true, ID: providerA.ID,
			})
		},
		want:    updatedProvider,
		inv:     Invalidation{Kind: KindProvider, ID: providerA.ID},
		affects: readProviders | readAllConfig,
	},
	{
		name:   "DeleteChatProvider",
		expect: expectExec("DeleteChatProvider", providerB.ID),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return nil, q.DeleteChatProvider(ctx, providerB.ID)
		},
		inv:     Invalidation{Kind: KindProvider, ID: providerB.ID},
		affects: readProviders | readAllConfig,
	},
	{
		name: "InsertChatModelConfig",
		expect: expectRow("InsertChatModelConfig", func() *sqlmock.Rows { return modelConfigRows(newConfig) },
			"alpha", "m-new", "New", true, false, []byte(`{"new":true}`)),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
				Provider: "alpha", Model: "m-new", DisplayName: "New", Enabled: true,
				Options: json.RawMessage(`{"new":true}`),
			})
		},
		want:    newConfig,
		inv:     Invalidation{Kind: KindModelConfig, ID: newConfig.ID},
		affects: readDefault,
	},
	{
		name: "UpdateChatModelConfig",
		expect: expectRow("UpdateChatModelConfig", func() *sqlmock.Rows { return modelConfigRows(updatedConfigC) },
			"alpha", "m-c2", "C2", true, []byte(`{"temperature":0.7}`), configC.ID),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return q.UpdateChatModelConfig(ctx, chatdb.UpdateChatModelConfigParams{
				Provider: "alpha", Model: "m-c2", DisplayName: "C2", Enabled: true,
				Options: json.RawMessage(`{"temperature":0.7}`), ID: configC.ID,
			})
		},
		want:    updatedConfigC,
		inv:     Invalidation{Kind: KindModelConfig, ID: configC.ID},
		affects: readConfigC | readDefault,
	},
	{
		name:   "DeleteChatModelConfig",
		expect: expectExec("DeleteChatModelConfig", configD.ID),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return nil, q.DeleteChatModelConfig(ctx, configD.ID)
		},
		inv:     Invalidation{Kind: KindModelConfig, ID: configD.ID},
		affects: readConfigD | readDefault,
	},
	{
		name:   "SetDefaultChatModelConfig",
		expect: expectExec("SetDefaultChatModelConfig", configD.ID),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return nil, q.SetDefaultChatModelConfig(ctx, configD.ID)
		},
		inv:     Invalidation{Kind: KindModelConfigs},
		affects: readAllConfig,
	},
	{
		name:   "ClearDefaultChatModelConfig",
		expect: expectExec("ClearDefaultChatModelConfig"),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return nil, q.ClearDefaultChatModelConfig(ctx)
		},
		inv:     Invalidation{Kind: KindModelConfigs},
		affects: readAllConfig,
	},
	{
		name: "UpsertUserChatCustomPrompt",
		expect: expectRow("UpsertUserChatCustomPrompt", func() *sqlmock.Rows { return promptRows(upsertedPromptU) },
			promptU.UserID, "be briefer"),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
				UserID: promptU.UserID, Prompt: "be briefer",
			})
		},
		want:    upsertedPromptU,
		inv:     Invalidation{Kind: KindUserPrompt, ID: promptU.UserID},
		affects: readPromptU,
	},
	{
		name:   "DeleteUserChatCustomPrompt",
		expect: expectExec("DeleteUserChatCustomPrompt", promptV.UserID),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return nil, q.DeleteUserChatCustomPrompt(ctx, promptV.UserID)
		},
		inv:     Invalidation{Kind: KindUserPrompt, ID: promptV.UserID},
		affects: readPromptV,
	},
	{
		name: "InsertChat",
		expect: expectRow("InsertChat", func() *sqlmock.Rows {
			return sqlmock.NewRows([]string{"id", "user_id", "model_config_id", "title", "created_at"}).
				AddRow(chat.ID.String(), chat.UserID.String(), chat.ModelConfigID.String(), nil, chat.CreatedAt)
		}, chat.UserID, chat.ModelConfigID, nil),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return q.InsertChat(ctx, chatdb.InsertChatParams{UserID: chat.UserID, ModelConfigID: chat.ModelConfigID})
		},
		want:    chat,
		affects: readNone,
	},
	{
		name: "InsertChatMessage",
		expect: expectRow("InsertChatMessage", func() *sqlmock.Rows {
			return sqlmock.NewRows([]string{"id", "chat_id", "role", "content", "created_at"}).
				AddRow(chatMessage.ID, chatMessage.ChatID.String(), chatMessage.Role, chatMessage.Content,
					chatMessage.CreatedAt)
		}, chat.ID, "user", "hi"),
		call: func(ctx context.Context, q *Querier) (any, error) {
			return q.InsertChatMessage(ctx, chatdb.InsertChatMessageParams{ChatID: chat.ID, Role: "user", Content: "hi"})
		},
		want:    chatMessage,
		affects: readNone,
	},
}

// publishes reports whether w is a mutation that sends a notification.
func (w write) publishes() bool {
	return w.inv.Kind != 0
}

func TestWritesCoverEveryMutation(t *testing.T) {
	var covered []string
	for _, w := range writes {
		if w.publishes() {
			covered = append(covered, w.name)
		}
	}
	for name, r := range rules {
		if r.class == mutation && !slices.Contains(covered, name) {
			t.Errorf("mutation %s has no case in writes", name)
		}
		if r.class != mutation && slices.Contains(covered, name) {
			t.Errorf("writes expects %s to publish, but its rule is not a mutation", name)
		}
	}
}

// publishMode is how a mutation outside a transaction reaches the
// database.
type publishMode struct {
	name string
	opts Options
	// withDB sets Options.DB, so mutations run in a transaction of their
	// own with their notification.
	withDB bool
}

var publishModes = []publishMode{
	{name: "WithoutDB"},
	{name: "WithDB", withDB: true},
	{name: "PublishDisabled", opts: Options{DisablePublish: true}},
	{name: "WithDBPublishDisabled", opts: Options{DisablePublish: true}, withDB: true},
}

func (m publishMode) transactional() bool {
	return m.withDB && !m.opts.DisablePublish
}

// expectWrite expects w's statements in mode m, the mutation failing with
// err when err is not nil.
func expectWrite(mock sqlmock.Sqlmock, m publishMode, w write, err error) {
	inTx := m.transactional() && w.publishes()
	if inTx {
		mock.ExpectBegin()
	}
	w.expect(mock, err)
	switch {
	case err != nil && inTx:
		mock.ExpectRollback()
	case err != nil || !w.publishes() || m.opts.DisablePublish:
	case inTx:
		expectNotify(mock, w.inv)
		mock.ExpectCommit()
	default:
		expectNotify(mock, w.inv)
	}
}

func TestWriteInvalidatesAffectedReads(t *testing.T) {
	for _, m := range publishModes {
		for _, w := range writes {
			t.Run(m.name+"/"+w.name, func(t *testing.T) {
				f := primed(t, m.opts, m.withDB)
				expectWrite(f.mock, m, w, nil)
				got, err := w.call(t.Context(), f.q)
				if err != nil {
					t.Fatalf("%s: %v", w.name, err)
				}
				if !reflect.DeepEqual(got, w.want) {
					t.Errorf("%s = %+v, want %+v", w.name, got, w.want)
				}

				// The affected reads query again, and the others are hits:
				// an unexpected query fails its read.
				f.expectReads(w.affects)
				readAll(t, f.q)
			})
		}
	}
}

func TestFailedWriteInvalidatesNothing(t *testing.T) {
	for _, m := range publishModes {
		for _, w := range writes {
			t.Run(m.name+"/"+w.name, func(t *testing.T) {
				f := primed(t, m.opts, m.withDB)
				wantErr := errors.New("storewrap test: unique violation")
				expectWrite(f.mock, m, w, wantErr)
				if _, err := w.call(t.Context(), f.q); err != wantErr {
					t.Fatalf("%s: error = %v, want the driver's %v", w.name, err, wantErr)
				}
				readAll(t, f.q)
				if got := f.q.Stats().ModelConfig.Invalidations; got != 0 {
					t.Errorf("ModelConfig.Invalidations = %d, want 0", got)
				}
			})
		}
	}
}

func TestMutationPublishesInItsTransaction(t *testing.T) {
	f := primed(t, Options{}, true)
	inv := Invalidation{Kind: KindModelConfig, ID: configD.ID}
	// sqlmock matches these in order.
	f.mock.ExpectBegin()
	f.mock.ExpectExec("DeleteChatModelConfig").WithArgs(configD.ID).WillReturnResult(driver.RowsAffected(1))
	f.mock.ExpectExec("NotifyInvalidation").
		WithArgs("hotread_invalidate", "v1:model_config:"+configD.ID.String()).
		WillReturnResult(driver.RowsAffected(1))
	f.mock.ExpectCommit()
	if err := f.q.DeleteChatModelConfig(t.Context(), inv.ID); err != nil {
		t.Fatalf("DeleteChatModelConfig: %v", err)
	}
	f.expectReads(readConfigD | readDefault)
	readAll(t, f.q)
}

// A commit that fails may still have committed, for example when its
// reply is lost with the connection, so it invalidates like a success.
func TestMutationCommitFailureInvalidates(t *testing.T) {
	f := primed(t, Options{}, true)
	commitErr := errors.New("storewrap test: connection lost at commit")
	f.mock.ExpectBegin()
	f.mock.ExpectExec("DeleteChatModelConfig").WithArgs(configD.ID).WillReturnResult(driver.RowsAffected(1))
	expectNotify(f.mock, Invalidation{Kind: KindModelConfig, ID: configD.ID})
	f.mock.ExpectCommit().WillReturnError(commitErr)
	err := f.q.DeleteChatModelConfig(t.Context(), configD.ID)
	if !errors.Is(err, commitErr) {
		t.Fatalf("DeleteChatModelConfig: error = %v, want one wrapping %v", err, commitErr)
	}
	f.expectReads(readConfigD | readDefault)
	readAll(t, f.q)
}

func TestMutationNotifyFailureRollsBack(t *testing.T) {
	f := primed(t, Options{}, true)
	notifyErr := errors.New("storewrap test: payload rejected")
	f.mock.ExpectBegin()
	f.mock.ExpectQuery("UpsertUserChatCustomPrompt").WithArgs(promptU.UserID, "be briefer").
		WillReturnRows(promptRows(upsertedPromptU))
	expectNotify(f.mock, Invalidation{Kind: KindUserPrompt, ID: promptU.UserID}).WillReturnError(notifyErr)
	f.mock.ExpectRollback()
	got, err := f.q.UpsertUserChatCustomPrompt(t.Context(), chatdb.UpsertUserChatCustomPromptParams{
		UserID: promptU.UserID, Prompt: "be briefer",
	})
	if !errors.Is(err, notifyErr) {
		t.Fatalf("UpsertUserChatCustomPrompt: error = %v, want one wrapping %v", err, notifyErr)
	}
	if got != (chatdb.UserChatCustomPrompt{}) {
		t.Errorf("UpsertUserChatCustomPrompt = %+v, want the zero value with the error", got)
	}
	readAll(t, f.q)
}

func TestMutationBeginFailureInvalidatesNothing(t *testing.T) {
	f := primed(t, Options{}, true)
	beginErr := errors.New("storewrap test: too many connections")
	f.mock.ExpectBegin().WillReturnError(beginErr)
	err := f.q.ClearDefaultChatModelConfig(t.Context())
	if !errors.Is(err, beginErr) {
		t.Fatalf("ClearDefaultChatModelConfig: error = %v, want one wrapping %v", err, beginErr)
	}
	readAll(t, f.q)
}

func TestNotifyFailureWithoutDBIsLogged(t *testing.T) {
	var logs bytes.Buffer
	f := primed(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, false)
	notifyErr := errors.New("storewrap test: connection reset")
	inv := Invalidation{Kind: KindUserPrompt, ID: promptU.UserID}
	f.mock.ExpectExec("DeleteUserChatCustomPrompt").WithArgs(promptU.UserID).WillReturnResult(driver.RowsAffected(1))
	expectNotify(f.mock, inv).WillReturnError(notifyErr)

	if err := f.q.DeleteUserChatCustomPrompt(t.Context(), promptU.UserID); err != nil {
		t.Fatalf("DeleteUserChatCustomPrompt: error = %v, want nil: the deletion committed", err)
	}
	if got := f.q.Stats().NotifyFailures; got != 1 {
		t.Errorf("NotifyFailures = %d, want 1", got)
	}
	for _, want := range []string{"level=ERROR", "DeleteUserChatCustomPrompt", inv.Payload(), notifyErr.Error()} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %q does not contain %q", logs.String(), want)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Errorf("log has %d lines, want 1", n)
	}
	f.expectReads(readPromptU)
	readAll(t, f.q)
}

func TestMutationUsesConfiguredChannel(t *testing.T) {
	f := primed(t, Options{Channel: "app_cache_2"}, false)
	f.mock.ExpectExec("ClearDefaultChatModelConfig").WillReturnResult(driver.RowsAffected(1))
	f.mock.ExpectExec("NotifyInvalidation").WithArgs("app_cache_2", "v1:model_configs").
		WillReturnResult(driver.RowsAffected(1))
	if err := f.q.ClearDefaultChatModelConfig(t.Context()); err != nil {
		t.Fatalf("ClearDefaultChatModelConfig: %v", err)
	}
}

func TestMutationUsesTxQuerier(t *testing.T) {
	txRec := &recorder{}
	f := newFixture(t, Options{TxQuerier: func(*sql.Tx) chatdb.Querier { return txRec }}, true)
	f.mock.ExpectBegin()
	f.mock.ExpectCommit()
	if err := f.q.SetDefaultChatModelConfig(t.Context(), configD.ID); err != nil {
		t.Fatalf("SetDefaultChatModelConfig: %v", err)
	}
	var got []string
	for _, c := range txRec.calls {
		got = append(got, c.method)
	}
	want := []string{"SetDefaultChatModelConfig", "NotifyInvalidation"}
	if !slices.Equal(got, want) {
		t.Errorf("TxQuerier's Querier got calls %v, want %v", got, want)
	}
}
