package storewrap

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/hotread/hotread/chatdb"
)

func TestRulesCoverQuerier(t *testing.T) {
	for i := range querierType.NumMethod() {
		name := querierType.Method(i).Name
		if _, ok := rules[name]; !ok {
			t.Errorf("chatdb.Querier method %s has no rule in classify.go: "+
				"classify it as cachedRead, mutation or passThrough", name)
		}
	}
	for name := range rules {
		if _, ok := querierType.MethodByName(name); !ok {
			t.Errorf("rule %s names no method of chatdb.Querier", name)
		}
	}
}

func TestRulesAreWellFormed(t *testing.T) {
	for name, r := range rules {
		switch r.class {
		case mutation:
			if r.invalidations == nil {
				t.Errorf("mutation %s has no invalidations", name)
			}
		case cachedRead, passThrough:
			if r.invalidations != nil {
				t.Errorf("%s is not a mutation but has invalidations", name)
			}
		default:
			t.Errorf("rule %s has class %d, want cachedRead, mutation or passThrough", name, r.class)
		}
	}
}

func TestCachedReadsAreTheHotReads(t *testing.T) {
	var got []string
	for name, r := range rules {
		if r.class == cachedRead {
			got = append(got, name)
		}
	}
	slices.Sort(got)
	want := []string{
		"GetChatModelConfigByID", "GetDefaultChatModelConfig",
		"GetEnabledChatProviders", "GetUserChatCustomPrompt",
	}
	if !slices.Equal(got, want) {
		t.Errorf("cached reads = %v, want %v (each needs a cache in state)", got, want)
	}
}

func TestInvalidationsOfFallsBackToAll(t *testing.T) {
	all := []Invalidation{{Kind: KindAll}}
	tests := []struct {
		name   string
		method string
		arg    any
		result any
	}{
		{"unknown method", "DropEverything", nil, nil},
		{"pass-through", "InsertChat", chatdb.InsertChatParams{}, chatdb.Chat{}},
		{"argument of wrong type", "DeleteChatProvider", "not a uuid", nil},
		{"result of wrong type", "InsertChatProvider", nil, chatdb.Chat{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := invalidationsOf(tt.method, tt.arg, tt.result)
			if !reflect.DeepEqual(got, all) {
				t.Errorf("invalidationsOf(%s) = %v, want %v", tt.method, got, all)
			}
		})
	}
}

type ctxKey struct{}

// TestPassThroughForwardsUnchanged calls every pass-through by reflection
// on a Querier over a recorder and checks that the recorder received the
// same context and arguments, and that the caller received the recorder's
// results and error unchanged. Inside a transaction the cached reads must
// forward unchanged too.
func TestPassThroughForwardsUnchanged(t *testing.T) {
	for i := range querierType.NumMethod() {
		method := querierType.Method(i)
		r := rules[method.Name]
		if r.class == mutation {
			continue
		}
		if r.class == passThrough {
			t.Run(method.Name, func(t *testing.T) {
				rec := &recorder{}
				q, err := New(rec, Options{})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				defer q.Close()
				checkForwarding(t, q, rec, method)
			})
		}
		t.Run(method.Name+"InTx", func(t *testing.T) {
			db, mock, err := sqlmock.New()
			if err != nil {
				t.Fatalf("sqlmock.New: %v", err)
			}
			defer db.Close()
			txRec := &recorder{}
			q, err := New(&recorder{}, Options{
				DB:        db,
				TxQuerier: func(*sql.Tx) chatdb.Querier { return txRec },
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer q.Close()
			mock.ExpectBegin()
			mock.ExpectRollback()
			tx, err := q.Begin(t.Context(), nil)
			if err != nil {
				t.Fatalf("Begin: %v", err)
			}
			checkForwarding(t, tx.Querier(), txRec, method)
			if err := tx.Rollback(); err != nil {
				t.Errorf("Rollback: %v", err)
			}
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Errorf("expectations not met: %v", err)
			}
		})
	}
}

// checkForwarding calls method through q twice, once succeeding and once
// failing, and checks what rec received and what q returned.
func checkForwarding(t *testing.T, q *Querier, rec *recorder, method reflect.Method) {
	t.Helper()
	ctx := context.WithValue(t.Context(), ctxKey{}, method.Name)
	args := []reflect.Value{reflect.ValueOf(ctx)}
	for i := 1; i < method.Type.NumIn(); i++ {
		args = append(args, fillValue(t, method.Type.In(i), 10*i))
	}
	var results []any
	for i := range method.Type.NumOut() - 1 {
		results = append(results, fillValue(t, method.Type.Out(i), 100*(i+1)).Interface())
	}
	rec.results = map[string][]any{method.Name: results}

	for _, wantErr := range []error{nil, errors.New("storewrap test: forwarded error")} {
		rec.err = wantErr
		rec.calls = nil
		out := reflect.ValueOf(q).MethodByName(method.Name).Call(args)

		if len(rec.calls) != 1 {
			t.Fatalf("err %v: wrapped Querier got %d calls, want 1", wantErr, len(rec.calls))
		}
		call := rec.calls[0]
		if call.method != method.Name {
			t.Errorf("err %v: wrapped Querier got %s, want %s", wantErr, call.method, method.Name)
		}
		if call.args[0] != any(ctx) {
			t.Errorf("err %v: wrapped Querier got another context than the caller's", wantErr)
		}
		for i := 1; i < len(args); i++ {
			if !reflect.DeepEqual(call.args[i], args[i].Interface()) {
				t.Errorf("err %v: argument %d = %+v, want %+v", wantErr, i, call.args[i], args[i].Interface())
			}
		}
		for i, want := range results {
			if got := out[i].Interface(); !reflect.DeepEqual(got, want) {
				t.Errorf("err %v: result %d = %+v, want %+v", wantErr, i, got, want)
			}
		}
		gotErr, _ := out[len(out)-1].Interface().(error)
		if gotErr != wantErr {
			t.Errorf("error = %v, want the wrapped Querier's %v", gotErr, wantErr)
		}
	}
}

func TestNotifyInvalidationInvalidatesNothing(t *testing.T) {
	f := primed(t, Options{}, false)
	f.mock.ExpectExec("NotifyInvalidation").
		WithArgs("other", "v1:all").
		WillReturnResult(sqlmock.NewResult(0, 1))
	err := f.q.NotifyInvalidation(t.Context(), chatdb.NotifyInvalidationParams{
		Channel: "other", Payload: "v1:all",
	})
	if err != nil {
		t.Fatalf("NotifyInvalidation: %v", err)
	}
	readAll(t, f.q)
}
