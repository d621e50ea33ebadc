package storewrap

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/coder/quartz"
	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

// byName matches a query by the "-- name: X :kind" comment that sqlc puts
// on the first line of every generated query, so that expectations name
// the method rather than repeat its SQL.
var byName = sqlmock.QueryMatcherFunc(func(expected, actual string) error {
	if strings.HasPrefix(actual, "-- name: "+expected+" ") {
		return nil
	}
	first, _, _ := strings.Cut(actual, "\n")
	return fmt.Errorf("query %q is not %s", first, expected)
})

// fixture is a Querier over a go-sqlmock database, driven by a mock clock.
type fixture struct {
	db    *sql.DB
	mock  sqlmock.Sqlmock
	clock *quartz.Mock
	q     *Querier
}

// newFixture returns a fixture whose Querier wraps chatdb.New(db). When
// withDB is true, opts.DB is set to the mock database too. Cleanup closes
// the Querier and the database and checks that every expectation was met.
func newFixture(t *testing.T, opts Options, withDB bool) *fixture {
	t.Helper()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(byName))
	if err != nil {
		t.Fatalf("sqlmock.New: %v", err)
	}
	clock := quartz.NewMock(t)
	opts.Clock = clock
	if withDB {
		opts.DB = db
	}
	q, err := New(chatdb.New(db), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		mock.ExpectClose()
		if err := db.Close(); err != nil {
			t.Errorf("closing the mock database: %v", err)
		}
		if err := mock.ExpectationsWereMet(); err != nil {
			t.Errorf("expectations not met: %v", err)
		}
	})
	return &fixture{db: db, mock: mock, clock: clock, q: q}
}

// advance moves the mock clock forward by d.
func (f *fixture) advance(t *testing.T, d time.Duration) {
	t.Helper()
	f.clock.Advance(d).MustWait(t.Context())
}

var testTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// Rows of the fixture's database. configC and configD are two model
// configs, configC the default; promptU and promptV belong to two users.
var (
	providerA = chatdb.ChatProvider{
		ID: uuid.MustParse("00000000-0000-4000-8000-00000000000a"), Provider: "alpha",
		DisplayName: "Alpha", APIKey: "key-a", Enabled: true, CreatedAt: testTime, UpdatedAt: testTime,
	}
	providerB = chatdb.ChatProvider{
		ID: uuid.MustParse("00000000-0000-4000-8000-00000000000b"), Provider: "beta",
		DisplayName: "Beta", APIKey: "key-b", Enabled: true, CreatedAt: testTime, UpdatedAt: testTime,
	}
	configC = chatdb.ChatModelConfig{
		ID: uuid.MustParse("00000000-0000-4000-8000-00000000000c"), Provider: "alpha", Model: "m-c",
		DisplayName: "C", Enabled: true, IsDefault: true, Options: json.RawMessage(`{"temperature":0.5}`),
		CreatedAt: testTime, UpdatedAt: testTime,
	}
	configD = chatdb.ChatModelConfig{
		ID: uuid.MustParse("00000000-0000-4000-8000-00000000000d"), Provider: "beta", Model: "m-d",
		DisplayName: "D", Enabled: true, Options: json.RawMessage(`{}`),
		CreatedAt: testTime, UpdatedAt: testTime,
	}
	promptU = chatdb.UserChatCustomPrompt{
		UserID: uuid.MustParse("00000000-0000-4000-8000-0000000000e1"), Prompt: "be brief", UpdatedAt: testTime,
	}
	promptV = chatdb.UserChatCustomPrompt{
		UserID: uuid.MustParse("00000000-0000-4000-8000-0000000000e2"), Prompt: "be kind", UpdatedAt: testTime,
	}
)

func providerRows(providers ...chatdb.ChatProvider) *sqlmock.Rows {
	rows := sqlmock.NewRows([]string{
		"id", "provider", "display_name", "api_key", "enabled", "created_at", "updated_at",
	})
	for _, p := range providers {
		rows.AddRow(p.ID.String(), p.Provider, p.DisplayName, p.APIKey, p.Enabled, p.CreatedAt, p.UpdatedAt)
	}
	return rows
}

func modelConfigRows(configs ...chatdb.ChatModelConfig) *sqlmock.Rows {
	rows := sqlmock.NewRows([]string{
		"id", "provider", "model", "display_name", "enabled", "is_default", "options",
		"created_at", "updated_at",
	})
	for _, c := range configs {
		rows.AddRow(c.ID.String(), c.Provider, c.Model, c.DisplayName, c.Enabled, c.IsDefault,
			[]byte(c.Options), c.CreatedAt, c.UpdatedAt)
	}
	return rows
}

func promptRows(prompts ...chatdb.UserChatCustomPrompt) *sqlmock.Rows {
	rows := sqlmock.NewRows([]string{"user_id", "prompt", "updated_at"})
	for _, p := range prompts {
		rows.AddRow(p.UserID.String(), p.Prompt, p.UpdatedAt)
	}
	return rows
}

// expectNotify expects the notification of inv on the default channel.
func expectNotify(mock sqlmock.Sqlmock, inv Invalidation) *sqlmock.ExpectedExec {
	return mock.ExpectExec("NotifyInvalidation").
		WithArgs(DefaultChannel, inv.Payload()).
		WillReturnResult(driver.RowsAffected(1))
}

// readSet is a set of the six reads that the invalidation tests check.
type readSet uint8

const (
	readProviders readSet = 1 << iota
	readConfigC
	readConfigD
	readDefault
	readPromptU
	readPromptV

	readNone       readSet = 0
	readAllConfig          = readConfigC | readConfigD | readDefault
	readEverything         = readProviders | readAllConfig | readPromptU | readPromptV
)

// expectReads expects the queries of the reads in set, in the order in
// which readAll calls them.
func (f *fixture) expectReads(set readSet) {
	if set&readProviders != 0 {
		f.mock.ExpectQuery("GetEnabledChatProviders").WillReturnRows(providerRows(providerA, providerB))
	}
	if set&readConfigC != 0 {
		f.mock.ExpectQuery("GetChatModelConfigByID").WithArgs(configC.ID).WillReturnRows(modelConfigRows(configC))
	}
	if set&readConfigD != 0 {
		f.mock.ExpectQuery("GetChatModelConfigByID").WithArgs(configD.ID).WillReturnRows(modelConfigRows(configD))
	}
	if set&readDefault != 0 {
		f.mock.ExpectQuery("GetDefaultChatModelConfig").WillReturnRows(modelConfigRows(configC))
	}
	if set&readPromptU != 0 {
		f.mock.ExpectQuery("GetUserChatCustomPrompt").WithArgs(promptU.UserID).WillReturnRows(promptRows(promptU))
	}
	if set&readPromptV != 0 {
		f.mock.ExpectQuery("GetUserChatCustomPrompt").WithArgs(promptV.UserID).WillReturnRows(promptRows(promptV))
	}
}

// readAll calls the six reads through q and checks their results.
func readAll(t *testing.T, q *Querier) {
	t.Helper()
	ctx := t.Context()
	providers, err := q.GetEnabledChatProviders(ctx)
	check(t, "GetEnabledChatProviders", providers, err, []chatdb.ChatProvider{providerA, providerB})
	c, err := q.GetChatModelConfigByID(ctx, configC.ID)
	check(t, "GetChatModelConfigByID(C)", c, err, configC)
	d, err := q.GetChatModelConfigByID(ctx, configD.ID)
	check(t, "GetChatModelConfigByID(D)", d, err, configD)
	def, err := q.GetDefaultChatModelConfig(ctx)
	check(t, "GetDefaultChatModelConfig", def, err, configC)
	u, err := q.GetUserChatCustomPrompt(ctx, promptU.UserID)
	check(t, "GetUserChatCustomPrompt(U)", u, err, promptU)
	v, err := q.GetUserChatCustomPrompt(ctx, promptV.UserID)
	check(t, "GetUserChatCustomPrompt(V)", v, err, promptV)
}

// check fails the test unless err is nil and got equals want.
func check[V any](t *testing.T, call string, got V, err error, want V) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", call, err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", call, got, want)
	}
}

// primed returns a fixture whose six reads are cached.
func primed(t *testing.T, opts Options, withDB bool) *fixture {
	t.Helper()
	f := newFixture(t, opts, withDB)
	f.expectReads(readEverything)
	readAll(t, f.q)
	return f
}

// recorder is a chatdb.Querier that records its calls and returns preset
// results, for tests that check what the decorator forwards.
type recorder struct {
	// results holds, per method, the values to return before the error.
	// A method without an entry returns zero values.
	results map[string][]any
	// err is returned by every method.
	err error
	// onCall, when set, runs at the start of every call. An error it
	// returns replaces err.
	onCall func(ctx context.Context, method string) error

	mu    sync.Mutex
	calls []recordedCall // guarded by mu
}

type recordedCall struct {
	method string
	args   []any // the context first
}

var _ chatdb.Querier = (*recorder)(nil)

var querierType = reflect.TypeFor[chatdb.Querier]()

// invoke records a call of method and returns its preset results and
// error.
func (r *recorder) invoke(ctx context.Context, method string, args ...any) ([]any, error) {
	err := r.err
	if r.onCall != nil {
		if callErr := r.onCall(ctx, method); callErr != nil {
			err = callErr
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, recordedCall{method: method, args: append([]any{ctx}, args...)})
	r.mu.Unlock()
	if res, ok := r.results[method]; ok {
		return res, err
	}
	m, ok := querierType.MethodByName(method)
	if !ok {
		panic("recorder: chatdb.Querier has no method " + method)
	}
	var zeros []any
	for i := range m.Type.NumOut() - 1 {
		zeros = append(zeros, reflect.Zero(m.Type.Out(i)).Interface())
	}
	return zeros, err
}

func (r *recorder) ClearDefaultChatModelConfig(ctx context.Context) error {
	_, err := r.invoke(ctx, "ClearDefaultChatModelConfig")
	return err
}

func (r *recorder) CountChatMessages(ctx context.Context) (int64, error) {
	res, err := r.invoke(ctx, "CountChatMessages")
	return res[0].(int64), err
}

func (r *recorder) DeleteChatModelConfig(ctx context.Context, id uuid.UUID) error {
	_, err := r.invoke(ctx, "DeleteChatModelConfig", id)
	return err
}

func (r *recorder) DeleteChatProvider(ctx context.Context, id uuid.UUID) error {
	_, err := r.invoke(ctx, "DeleteChatProvider", id)
	return err
}

func (r *recorder) DeleteUserChatCustomPrompt(ctx context.Context, userID uuid.UUID) error {
	_, err := r.invoke(ctx, "DeleteUserChatCustomPrompt", userID)
	return err
}

func (r *recorder) GetChatByID(ctx context.Context, id uuid.UUID) (chatdb.Chat, error) {
	res, err := r.invoke(ctx, "GetChatByID", id)
	return res[0].(chatdb.Chat), err
}

func (r *recorder) GetChatModelConfigByID(ctx context.Context, id uuid.UUID) (chatdb.ChatModelConfig, error) {
	res, err := r.invoke(ctx, "GetChatModelConfigByID", id)
	return res[0].(chatdb.ChatModelConfig), err
}

func (r *recorder) GetChatProviderByID(ctx context.Context, id uuid.UUID) (chatdb.ChatProvider, error) {
	res, err := r.invoke(ctx, "GetChatProviderByID", id)
	return res[0].(chatdb.ChatProvider), err
}

func (r *recorder) GetDefaultChatModelConfig(ctx context.Context) (chatdb.ChatModelConfig, error) {
	res, err := r.invoke(ctx, "GetDefaultChatModelConfig")
	return res[0].(chatdb.ChatModelConfig), err
}

func (r *recorder) GetEnabledChatProviders(ctx context.Context) ([]chatdb.ChatProvider, error) {
	res, err := r.invoke(ctx, "GetEnabledChatProviders")
	return res[0].([]chatdb.ChatProvider), err
}

func (r *recorder) GetUserChatCustomPrompt(
	ctx context.Context,
	userID uuid.UUID,
) (chatdb.UserChatCustomPrompt, error) {
	res, err := r.invoke(ctx, "GetUserChatCustomPrompt", userID)
	return res[0].(chatdb.UserChatCustomPrompt), err
}

func (r *recorder) InsertChat(ctx context.Context, arg chatdb.InsertChatParams) (chatdb.Chat, error) {
	res, err := r.invoke(ctx, "InsertChat", arg)
	return res[0].(chatdb.Chat), err
}

func (r *recorder) InsertChatMessage(
	ctx context.Context,
	arg chatdb.InsertChatMessageParams,
) (chatdb.ChatMessage, error) {
	res, err := r.invoke(ctx, "InsertChatMessage", arg)
	return res[0].(chatdb.ChatMessage), err
}

func (r *recorder) InsertChatModelConfig(
	ctx context.Context,
	arg chatdb.InsertChatModelConfigParams,
) (chatdb.ChatModelConfig, error) {
	res, err := r.invoke(ctx, "InsertChatModelConfig", arg)
	return res[0].(chatdb.ChatModelConfig), err
}

func (r *recorder) InsertChatProvider(
	ctx context.Context,
	arg chatdb.InsertChatProviderParams,
) (chatdb.ChatProvider, error) {
	res, err := r.invoke(ctx, "InsertChatProvider", arg)
	return res[0].(chatdb.ChatProvider), err
}

func (r *recorder) ListChatMessages(ctx context.Context, chatID uuid.UUID) ([]chatdb.ChatMessage, error) {
	res, err := r.invoke(ctx, "ListChatMessages", chatID)
	return res[0].([]chatdb.ChatMessage), err
}

func (r *recorder) ListChatModelConfigs(ctx context.Context) ([]chatdb.ChatModelConfig, error) {
	res, err := r.invoke(ctx, "ListChatModelConfigs")
	return res[0].([]chatdb.ChatModelConfig), err
}

func (r *recorder) ListChatProviders(ctx context.Context) ([]chatdb.ChatProvider, error) {
	res, err := r.invoke(ctx, "ListChatProviders")
	return res[0].([]chatdb.ChatProvider), err
}

func (r *recorder) NotifyInvalidation(ctx context.Context, arg chatdb.NotifyInvalidationParams) error {
	_, err := r.invoke(ctx, "NotifyInvalidation", arg)
	return err
}

func (r *recorder) SetDefaultChatModelConfig(ctx context.Context, id uuid.UUID) error {
	_, err := r.invoke(ctx, "SetDefaultChatModelConfig", id)
	return err
}

func (r *recorder) UpdateChatModelConfig(
	ctx context.Context,
	arg chatdb.UpdateChatModelConfigParams,
) (chatdb.ChatModelConfig, error) {
	res, err := r.invoke(ctx, "UpdateChatModelConfig", arg)
	return res[0].(chatdb.ChatModelConfig), err
}

func (r *recorder) UpdateChatProvider(
	ctx context.Context,
	arg chatdb.UpdateChatProviderParams,
) (chatdb.ChatProvider, error) {
	res, err := r.invoke(ctx, "UpdateChatProvider", arg)
	return res[0].(chatdb.ChatProvider), err
}

func (r *recorder) UpsertUserChatCustomPrompt(
	ctx context.Context,
	arg chatdb.UpsertUserChatCustomPromptParams,
) (chatdb.UserChatCustomPrompt, error) {
	res, err := r.invoke(ctx, "UpsertUserChatCustomPrompt", arg)
	return res[0].(chatdb.UserChatCustomPrompt), err
}

// fillValue returns a value of type typ whose every field, element and
// byte is set from seed, so that two values made with different seeds
// differ everywhere. It fails the test on a type it cannot fill.
func fillValue(t *testing.T, typ reflect.Type, seed int) reflect.Value {
	t.Helper()
	v := reflect.New(typ).Elem()
	switch {
	case typ == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(testTime.Add(time.Duration(seed) * time.Second)))
		return v
	case typ == reflect.TypeFor[uuid.UUID]():
		v.Set(reflect.ValueOf(uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(seed)})))
		return v
	}
	switch typ.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", seed))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(seed) + 1)
	case reflect.Uint8:
		v.SetUint(uint64(seed%250) + 1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(typ, 2, 2))
		for i := range 2 {
			v.Index(i).Set(fillValue(t, typ.Elem(), seed+i+1))
		}
	case reflect.Array:
		for i := range typ.Len() {
			v.Index(i).Set(fillValue(t, typ.Elem(), seed+i+1))
		}
	case reflect.Struct:
		for i := range typ.NumField() {
			field := typ.Field(i)
			if !field.IsExported() {
				t.Fatalf("fillValue: %v has unexported field %s", typ, field.Name)
			}
			v.Field(i).Set(fillValue(t, field.Type, seed+i+1))
		}
	default:
		t.Fatalf("fillValue: unsupported type %v", typ)
	}
	return v
}
