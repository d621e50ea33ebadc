package storewrap

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

// InsertChatProvider forwards to the wrapped Querier and, on success,
// invalidates the providers, every model config and the default.
func (q *Querier) InsertChatProvider(
	ctx context.Context,
	arg chatdb.InsertChatProviderParams,
) (chatdb.ChatProvider, error) {
	return mutate(ctx, q, "InsertChatProvider", arg,
		func(next chatdb.Querier) (chatdb.ChatProvider, error) {
			return next.InsertChatProvider(ctx, arg)
		})
}

// UpdateChatProvider forwards to the wrapped Querier and, on success,
// invalidates the providers, every model config and the default.
func (q *Querier) UpdateChatProvider(
	ctx context.Context,
	arg chatdb.UpdateChatProviderParams,
) (chatdb.ChatProvider, error) {
	return mutate(ctx, q, "UpdateChatProvider", arg,
		func(next chatdb.Querier) (chatdb.ChatProvider, error) {
			return next.UpdateChatProvider(ctx, arg)
		})
}

// DeleteChatProvider forwards to the wrapped Querier and, on success,
// invalidates the providers, every model config and the default.
func (q *Querier) DeleteChatProvider(ctx context.Context, id uuid.UUID) error {
	return mutateExec(ctx, q, "DeleteChatProvider", id, func(next chatdb.Querier) error {
		return next.DeleteChatProvider(ctx, id)
	})
}

// InsertChatModelConfig forwards to the wrapped Querier and, on success,
// invalidates the inserted config and the default model config.
func (q *Querier) InsertChatModelConfig(
	ctx context.Context,
	arg chatdb.InsertChatModelConfigParams,
) (chatdb.ChatModelConfig, error) {
	return mutate(ctx, q, "InsertChatModelConfig", arg,
		func(next chatdb.Querier) (chatdb.ChatModelConfig, error) {
			return next.InsertChatModelConfig(ctx, arg)
		})
}

// UpdateChatModelConfig forwards to the wrapped Querier and, on success,
// invalidates the config and the default model config.
func (q *Querier) UpdateChatModelConfig(
	ctx context.Context,
	arg chatdb.UpdateChatModelConfigParams,
) (chatdb.ChatModelConfig, error) {
	return mutate(ctx, q, "UpdateChatModelConfig", arg,
		func(next chatdb.Querier) (chatdb.ChatModelConfig, error) {
			return next.UpdateChatModelConfig(ctx, arg)
		})
}

// DeleteChatModelConfig forwards to the wrapped Querier and, on success,
// invalidates the config and the default model config.
func (q *Querier) DeleteChatModelConfig(ctx context.Context, id uuid.UUID) error {
	return mutateExec(ctx, q, "DeleteChatModelConfig", id, func(next chatdb.Querier) error {
		return next.DeleteChatModelConfig(ctx, id)
	})
}

// SetDefaultChatModelConfig forwards to the wrapped Querier and, on
// success, invalidates every model config and the default model config.
func (q *Querier) SetDefaultChatModelConfig(ctx context.Context, id uuid.UUID) error {
	return mutateExec(ctx, q, "SetDefaultChatModelConfig", id, func(next chatdb.Querier) error {
		return next.SetDefaultChatModelConfig(ctx, id)
	})
}

// ClearDefaultChatModelConfig forwards to the wrapped Querier and, on
// success, invalidates every model config and the default model config.
func (q *Querier) ClearDefaultChatModelConfig(ctx context.Context) error {
	return mutateExec(ctx, q, "ClearDefaultChatModelConfig", nil, func(next chatdb.Querier) error {
		return next.ClearDefaultChatModelConfig(ctx)
	})
}

// UpsertUserChatCustomPrompt forwards to the wrapped Querier and, on
// success, invalidates the user's prompt.
func (q *Querier) UpsertUserChatCustomPrompt(
	ctx context.Context,
	arg chatdb.UpsertUserChatCustomPromptParams,
) (chatdb.UserChatCustomPrompt, error) {
	return mutate(ctx, q, "UpsertUserChatCustomPrompt", arg,
		func(next chatdb.Querier) (chatdb.UserChatCustomPrompt, error) {
			return next.UpsertUserChatCustomPrompt(ctx, arg)
		})
}

// DeleteUserChatCustomPrompt forwards to the wrapped Querier and, on
// success, invalidates the user's prompt.
func (q *Querier) DeleteUserChatCustomPrompt(ctx context.Context, userID uuid.UUID) error {
	return mutateExec(ctx, q, "DeleteUserChatCustomPrompt", userID, func(next chatdb.Querier) error {
		return next.DeleteUserChatCustomPrompt(ctx, userID)
	})
}

// mutateExec is mutate for a method that returns only an error.
func mutateExec(
	ctx context.Context,
	q *Querier,
	name string,
	arg any,
	call func(next chatdb.Querier) error,
) error {
	_, err := mutate(ctx, q, name, arg, func(next chatdb.Querier) (any, error) {
		return nil, call(next)
	})
	return err
}

// mutate runs the mutation name, whose argument is arg, by calling call
// with the Querier it must go to. Once the mutation has succeeded it
// publishes and applies the invalidations that the mutation's rule
// computes. On failure it returns call's result and error unchanged and
// invalidates nothing.
//
// Where the mutation runs and when its invalidations apply depends on the
// Querier:
//
//   - bound to a transaction: the mutation and its notification run in
//     that transaction, and the invalidations wait for its commit;
//   - with Options.DB and publishing: the mutation and its notification
//     run in a transaction of their own, and the invalidations apply once
//     it has committed;
//   - otherwise: the mutation goes to the wrapped Querier, its
//     invalidations apply at once, and the notification follows.
func mutate[R any](
	ctx context.Context,
	q *Querier,
	name string,
	arg any,
	call func(next chatdb.Querier) (R, error),
) (R, error) {
	s := q.s
	switch {
	case q.tx != nil:
		return mutateInTx(ctx, q, name, arg, call)
	case s.opts.DB != nil && !s.opts.DisablePublish:
		return mutateWithNotify(ctx, s, name, arg, call)
	}

	result, err := call(q.next)
	if err != nil {
		return result, err
	}
	invs := invalidationsOf(name, arg, result)
	s.invalidateAll(invs)
	if !s.opts.DisablePublish {
		// The mutation has committed, so failing the call would invite a
		// retry of a change that was made. The failure is logged instead,
		// and other replicas fall back on their TTL.
		if err := s.notify(ctx, q.next, invs); err != nil {
			s.notifyFailures.Add(1)
			s.opts.Logger.LogAttrs(ctx, slog.LevelError,
				"storewrap: invalidation not published after the mutation committed; "+
					"other replicas serve the old value until their TTL expires",
				slog.String("mutation", name), slog.Any("error", err))
		}
	}
	return result, nil
}

// mutateInTx runs a mutation on a Querier bound to a transaction: the
// notification joins the transaction, so PostgreSQL delivers it at commit
// and drops it on rollback, and the local invalidations wait for the
// commit in q.tx.
func mutateInTx[R any](
	ctx context.Context,
	q *Querier,
	name string,
	arg any,
	call func(next chatdb.Querier) (R, error),
) (R, error) {
	result, err := call(q.next)
	if err != nil {
		return result, err
	}
	invs := invalidationsOf(name, arg, result)
	if !q.s.opts.DisablePublish {
		if err := q.s.notify(ctx, q.next, invs); err != nil {
			var zero R
			return zero, fmt.Errorf("storewrap: %s: %w", name, err)
		}
	}
	q.tx.addInvalidations(invs)
	return result, nil
}

// mutateWithNotify runs a mutation and its notification in one short
// transaction on Options.DB, so that a crash between the two cannot commit
// the change without its notification. The local invalidations apply after
// commit. When the commit itself fails they apply too, because the outcome
// of a commit whose reply was lost is unknown; see [Tx.Commit].
func mutateWithNotify[R any](
	ctx context.Context,
	s *state,
	name string,
	arg any,
	call func(next chatdb.Querier) (R, error),
) (R, error) {
	var zero R
	tx, err := s.opts.DB.BeginTx(ctx, nil)
	if err != nil {
		return zero, fmt.Errorf("storewrap: %s: begin transaction: %w", name, err)
	}
	next, err := s.txQuerier(tx)
	if err != nil {
		_ = tx.Rollback()
		return zero, err
	}

	// The errors of Rollback are dropped below: the transaction ends either
	// way, and the caller needs the error that made it roll back.
	result, err := call(next)
	if err != nil {
		_ = tx.Rollback()
		return result, err
	}
	invs := invalidationsOf(name, arg, result)
	if err := s.notify(ctx, next, invs); err != nil {
		_ = tx.Rollback()
		return zero, fmt.Errorf("storewrap: %s: %w", name, err)
	}
	err = tx.Commit()
	s.invalidateAll(invs)
	if err != nil {
		return zero, fmt.Errorf("storewrap: %s: commit: %w", name, err)
	}
	return result, nil
}

// notify sends each invalidation in invs on the channel through next.
func (s *state) notify(ctx context.Context, next chatdb.Querier, invs []Invalidation) error {
	for _, inv := range invs {
		payload := inv.Payload()
		err := next.NotifyInvalidation(ctx, chatdb.NotifyInvalidationParams{
			Channel: s.opts.Channel,
			Payload: payload,
		})
		if err != nil {
			return fmt.Errorf("notify %s on channel %s: %w", payload, s.opts.Channel, err)
		}
	}
	return nil
}
