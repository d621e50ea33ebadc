package storewrap

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"testing"

	"github.com/hotread/hotread/chatdb"
)

// expectDeleteConfigD expects DeleteChatModelConfig(configD) and its
// notification, as they run inside a caller's transaction.
func (f *fixture) expectDeleteConfigD() {
	f.mock.ExpectExec("DeleteChatModelConfig").WithArgs(configD.ID).WillReturnResult(driver.RowsAffected(1))
	expectNotify(f.mock, Invalidation{Kind: KindModelConfig, ID: configD.ID})
}

func TestTxInvalidatesOnlyAfterCommit(t *testing.T) {
	f := primed(t, Options{}, true)
	ctx := t.Context()
	f.mock.ExpectBegin()
	f.expectDeleteConfigD()
	f.mock.ExpectCommit()

	tx, err := f.q.Begin(ctx, nil)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if err := tx.Querier().DeleteChatModelConfig(ctx, configD.ID); err != nil {
		t.Fatalf("DeleteChatModelConfig: %v", err)
	}
	// Outside the transaction the change is not committed yet, so the
	// cached values stay: these reads must not query.
	readAll(t, f.q)

	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	f.expectReads(readConfigD | readDefault)
	readAll(t, f.q)
}

func TestInTxInvalidatesAfterCommit(t *testing.T) {
	f := primed(t, Options{}, true)
	ctx := t.Context()
	f.mock.ExpectBegin()
	f.expectDeleteConfigD()
	f.mock.ExpectCommit()
	err := f.q.InTx(ctx, nil, func(tq *Querier) error {
		if err := tq.DeleteChatModelConfig(ctx, configD.ID); err != nil {
			return err
		}
		readAll(t, f.q) // outside the transaction: all hits
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	f.expectReads(readConfigD | readDefault)
	readAll(t, f.q)
}

func TestInTxRollbackInvalidatesNothing(t *testing.T) {
	fnErr := errors.New("storewrap test: validation failed")
	tests := []struct {
		name string
		// fnResult ends the function after its mutation.
		fnResult  func() error
		expectEnd func(f *fixture)
		checkErr  func(t *testing.T, err error)
	}{
		{
			name:      "FunctionError",
			fnResult:  func() error { return fnErr },
			expectEnd: func(f *fixture) { f.mock.ExpectRollback() },
			checkErr: func(t *testing.T, err error) {
				if err != fnErr {
					t.Errorf("InTx error = %v, want the function's %v", err, fnErr)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := primed(t, Options{}, true)
			ctx := t.Context()
			f.mock.ExpectBegin()
			f.expectDeleteConfigD()
			tt.expectEnd(f)
			err := f.q.InTx(ctx, nil, func(tq *Querier) error {
				if err := tq.DeleteChatModelConfig(ctx, configD.ID); err != nil {
					t.Errorf("DeleteChatModelConfig: %v", err)
				}
				return tt.fnResult()
			})
			tt.checkErr(t, err)
			readAll(t, f.q)
		})
	}
}

// A commit that fails may still have committed, so InTx applies the
// invalidations and returns the error.
func TestInTxCommitErrorInvalidates(t *testing.T) {
	f := primed(t, Options{}, true)
	ctx := t.Context()
	commitErr := errors.New("storewrap test: connection lost at commit")
	f.mock.ExpectBegin()
	f.expectDeleteConfigD()
	f.mock.ExpectCommit().WillReturnError(commitErr)
	err := f.q.InTx(ctx, nil, func(tq *Querier) error {
		return tq.DeleteChatModelConfig(ctx, configD.ID)
	})
	if !errors.Is(err, commitErr) {
		t.Errorf("InTx error = %v, want one wrapping %v", err, commitErr)
	}
	f.expectReads(readConfigD | readDefault)
	readAll(t, f.q)
}

func TestInTxPanicRollsBackAndRepanics(t *testing.T) {
	f := primed(t, Options{}, true)
	ctx := t.Context()
	f.mock.ExpectBegin()
	f.expectDeleteConfigD()
	f.mock.ExpectRollback()
	type panicValue struct{ reason string }
	want := panicValue{"storewrap test: bug in the function"}

	got := func() (recovered any) {
		defer func() { recovered = recover() }()
		_ = f.q.InTx(ctx, nil, func(tq *Querier) error {
			if err := tq.DeleteChatModelConfig(ctx, configD.ID); err != nil {
				t.Errorf("DeleteChatModelConfig: %v", err)
			}
			panic(want)
		})
		return nil
	}()
	if got != want {
		t.Errorf("recovered %v, want the function's panic value %v", got, want)
	}
	readAll(t, f.q)
}

func TestInTxRollbackErrorIsJoined(t *testing.T) {
	f := newFixture(t, Options{}, true)
	fnErr := errors.New("storewrap test: validation failed")
	rollbackErr := errors.New("storewrap test: connection lost at rollback")
	f.mock.ExpectBegin()
	f.mock.ExpectRollback().WillReturnError(rollbackErr)
	err := f.q.InTx(t.Context(), nil, func(*Querier) error { return fnErr })
	if !errors.Is(err, fnErr) {
		t.Errorf("InTx error = %v, want one wrapping the function's %v", err, fnErr)
	}
	if !errors.Is(err, rollbackErr) {
		t.Errorf("InTx error = %v, want one wrapping the rollback's %v", err, rollbackErr)
	}
}

func TestTxReadsBypassCache(t *testing.T) {
	f := primed(t, Options{}, true)
	ctx := t.Context()
	f.mock.ExpectBegin()
	f.expectReads(readEverything)
	f.expectReads(readEverything)
	f.mock.ExpectCommit()
	err := f.q.InTx(ctx, nil, func(tq *Querier) error {
		readAll(t, tq)
		readAll(t, tq)
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	readAll(t, f.q) // the transaction stored nothing and invalidated nothing
}

func TestTxPublishDisabledSendsNoNotify(t *testing.T) {
	f := primed(t, Options{DisablePublish: true}, true)
	ctx := t.Context()
	f.mock.ExpectBegin()
	f.mock.ExpectExec("DeleteChatModelConfig").WithArgs(configD.ID).WillReturnResult(driver.RowsAffected(1))
	f.mock.ExpectCommit()
	err := f.q.InTx(ctx, nil, func(tq *Querier) error {
		return tq.DeleteChatModelConfig(ctx, configD.ID)
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	f.expectReads(readConfigD | readDefault)
	readAll(t, f.q)
}

func TestTxNotifyFailureFailsMutation(t *testing.T) {
	f := primed(t, Options{}, true)
	ctx := t.Context()
	notifyErr := errors.New("storewrap test: channel name too long")
	f.mock.ExpectBegin()
	f.mock.ExpectExec("DeleteChatModelConfig").WithArgs(configD.ID).WillReturnResult(driver.RowsAffected(1))
	expectNotify(f.mock, Invalidation{Kind: KindModelConfig, ID: configD.ID}).WillReturnError(notifyErr)
	f.mock.ExpectRollback()
	err := f.q.InTx(ctx, nil, func(tq *Querier) error {
		return tq.DeleteChatModelConfig(ctx, configD.ID)
	})
	if !errors.Is(err, notifyErr) {
		t.Fatalf("InTx error = %v, want one wrapping %v", err, notifyErr)
	}
	readAll(t, f.q)
}

func TestTxEndsOnce(t *testing.T) {
	f := primed(t, Options{}, true)
	ctx := t.Context()
	f.mock.ExpectBegin()
	f.expectDeleteConfigD()
	f.mock.ExpectCommit()
	tx, err := f.q.Begin(ctx, nil)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	tq := tx.Querier()
	if err := tq.DeleteChatModelConfig(ctx, configD.ID); err != nil {
		t.Fatalf("DeleteChatModelConfig: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	invalidations := f.q.Stats().ModelConfig.Invalidations
	if invalidations != 1 {
		t.Errorf("ModelConfig.Invalidations after Commit = %d, want 1", invalidations)
	}

	if err := tx.Commit(); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("second Commit: error = %v, want sql.ErrTxDone", err)
	}
	if err := tx.Rollback(); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("Rollback after Commit: error = %v, want sql.ErrTxDone", err)
	}
	if err := tq.DeleteChatModelConfig(ctx, configC.ID); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("mutation after Commit: error = %v, want sql.ErrTxDone", err)
	}
	if _, err := tq.GetChatModelConfigByID(ctx, configC.ID); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("read after Commit: error = %v, want sql.ErrTxDone", err)
	}
	if got := f.q.Stats().ModelConfig.Invalidations; got != invalidations {
		t.Errorf("ModelConfig.Invalidations after the second Commit = %d, want %d", got, invalidations)
	}
	f.expectReads(readConfigD | readDefault)
	readAll(t, f.q)
}

func TestTxRollbackDiscardsInvalidations(t *testing.T) {
	f := primed(t, Options{}, true)
	ctx := t.Context()
	f.mock.ExpectBegin()
	f.expectDeleteConfigD()
	f.mock.ExpectRollback()
	tx, err := f.q.Begin(ctx, nil)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if err := tx.Querier().DeleteChatModelConfig(ctx, configD.ID); err != nil {
		t.Fatalf("DeleteChatModelConfig: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if err := tx.Commit(); !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("Commit after Rollback: error = %v, want sql.ErrTxDone", err)
	}
	readAll(t, f.q)
}

func TestTxAfterEndAppliesLateInvalidations(t *testing.T) {
	f := primed(t, Options{}, true)
	f.mock.ExpectBegin()
	f.mock.ExpectRollback()
	tx, err := f.q.Begin(t.Context(), nil)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	// A mutation that raced the end of the transaction and succeeded may
	// have committed, so its invalidations apply at once.
	tx.addInvalidations([]Invalidation{{Kind: KindUserPrompt, ID: promptV.UserID}})
	f.expectReads(readPromptV)
	readAll(t, f.q)
}

func TestTransactionsNeedDB(t *testing.T) {
	f := newFixture(t, Options{}, false)
	ctx := t.Context()
	if _, err := f.q.Begin(ctx, nil); !errors.Is(err, ErrNoDB) {
		t.Errorf("Begin: error = %v, want ErrNoDB", err)
	}
	called := false
	err := f.q.InTx(ctx, nil, func(*Querier) error { called = true; return nil })
	if !errors.Is(err, ErrNoDB) {
		t.Errorf("InTx: error = %v, want ErrNoDB", err)
	}
	if called {
		t.Error("InTx without DB called the function")
	}
}

func TestTxBoundQuerierRejectsNesting(t *testing.T) {
	f := newFixture(t, Options{}, true)
	ctx := t.Context()
	f.mock.ExpectBegin()
	f.mock.ExpectRollback()
	tx, err := f.q.Begin(ctx, nil)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	defer tx.Rollback()
	tq := tx.Querier()
	if _, err := tq.Begin(ctx, nil); !errors.Is(err, ErrTxBound) {
		t.Errorf("Begin in a transaction: error = %v, want ErrTxBound", err)
	}
	if err := tq.InTx(ctx, nil, func(*Querier) error { return nil }); !errors.Is(err, ErrTxBound) {
		t.Errorf("InTx in a transaction: error = %v, want ErrTxBound", err)
	}
	if err := tq.Close(); !errors.Is(err, ErrTxBound) {
		t.Errorf("Close of a transaction's Querier: error = %v, want ErrTxBound", err)
	}
}

func TestBeginFailureIsWrapped(t *testing.T) {
	f := newFixture(t, Options{}, true)
	beginErr := errors.New("storewrap test: begin failed")
	f.mock.ExpectBegin().WillReturnError(beginErr)
	_, err := f.q.Begin(t.Context(), &sql.TxOptions{Isolation: sql.LevelSerializable, ReadOnly: true})
	if !errors.Is(err, beginErr) {
		t.Errorf("Begin: error = %v, want one wrapping %v", err, beginErr)
	}
}

func TestBeginRejectsNilTxQuerier(t *testing.T) {
	f := newFixture(t, Options{TxQuerier: func(*sql.Tx) chatdb.Querier { return nil }}, true)
	f.mock.ExpectBegin()
	f.mock.ExpectRollback()
	if _, err := f.q.Begin(t.Context(), nil); err == nil {
		t.Error("Begin with a TxQuerier that returns nil: error = nil, want one")
	}
}
