package storewrap

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/querycache"
)

// Querier is a [chatdb.Querier] that caches the four hot reads of the
// wrapped Querier and forwards every other method to it. A mutation of a
// cached table invalidates the affected reads once it has succeeded, and
// publishes the invalidation to other replicas with pg_notify. A Querier is
// safe for concurrent use by multiple goroutines, except one bound to a
// transaction, which is as safe as the *sql.Tx under it.
//
// Values returned by the cached reads are owned by the caller: each caller
// gets its own copy of slices and of [chatdb.ChatModelConfig.Options].
//
// A mutation outside a transaction goes to the wrapped Querier, unless
// [Options.DB] is set and publishing is on: it then runs with its
// notification in a short transaction of DB, through [Options.TxQuerier].
type Querier struct {
	// next is the Querier that methods forward to: the wrapped one, or one
	// bound to a transaction.
	next chatdb.Querier
	// tx is the transaction that this Querier is bound to, or nil.
	tx *Tx
	// s is shared by the Querier that New returned and the Queriers bound
	// to its transactions.
	s *state
}

var _ chatdb.Querier = (*Querier)(nil)

// state is the part of a Querier that its transaction-bound copies share.
type state struct {
	next   chatdb.Querier // the wrapped Querier; fills always use it
	opts   Options        // validated, with defaults applied
	ctx    context.Context
	cancel context.CancelFunc

	// A nil cache means that its query's cache is disabled.
	providers          *querycache.Singleton[[]chatdb.ChatProvider]
	modelConfig        *querycache.Entry[uuid.UUID, chatdb.ChatModelConfig]
	defaultModelConfig *querycache.Singleton[chatdb.ChatModelConfig]
	userPrompt         *querycache.Entry[uuid.UUID, chatdb.UserChatCustomPrompt]

	//lint:ignore U1000 the listener's hooks in listener_start.go will use it.
	listener listener

	closeOnce sync.Once

	notifyFailures atomic.Uint64
}

// New returns a Querier that wraps q with the caches configured by opts.
// It returns an error when q is nil, and one wrapping [ErrInvalidOptions]
// that names the field when opts is invalid. The caller must call
// [Querier.Close] when done with it.
func New(q chatdb.Querier, opts Options) (*Querier, error) {
	if isNil(q) {
		return nil, errors.New("storewrap: New: the wrapped Querier is nil")
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(opts.Context)
	s := &state{next: q, opts: opts, ctx: ctx, cancel: cancel}
	if err := s.buildCaches(); err != nil {
		cancel()
		return nil, err
	}

	wrapper := &Querier{next: q, s: s}
	if err := wrapper.startListener(); err != nil {
		cancel()
		return nil, err
	}
	return wrapper, nil
}

// isNil reports whether q is nil or holds a nil pointer, map, slice, func
// or channel, on which every call would fail.
func isNil(q chatdb.Querier) bool {
	if q == nil {
		return true
	}
	v := reflect.ValueOf(q)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// buildCaches creates the cache of every hot read that is not disabled.
func (s *state) buildCaches() error {
	o := &s.opts
	var err error
	if !o.Providers.Disabled {
		s.providers, err = querycache.NewSingleton(s.ctx,
			s.next.GetEnabledChatProviders,
			cacheOptions(o.Providers, providersDefaults, o.Clock, cloneProviders))
		if err != nil {
			return fmt.Errorf("storewrap: Providers cache: %w", err)
		}
	}
	if !o.ModelConfig.Disabled {
		s.modelConfig, err = querycache.New(s.ctx,
			s.next.GetChatModelConfigByID,
			cacheOptions(o.ModelConfig, modelConfigDefaults, o.Clock, cloneModelConfig))
		if err != nil {
			return fmt.Errorf("storewrap: ModelConfig cache: %w", err)
		}
	}
	if !o.DefaultModelConfig.Disabled {
		s.defaultModelConfig, err = querycache.NewSingleton(s.ctx,
			s.next.GetDefaultChatModelConfig,
			cacheOptions(o.DefaultModelConfig, defaultModelConfigDefaults, o.Clock, cloneModelConfig))
		if err != nil {
			return fmt.Errorf("storewrap: DefaultModelConfig cache: %w", err)
		}
	}
	if !o.UserPrompt.Disabled {
		// UserChatCustomPrompt holds no slice, map or pointer, so a copy of
		// the struct is already the caller's own and needs no Clone.
		s.userPrompt, err = querycache.New(s.ctx,
			s.next.GetUserChatCustomPrompt,
			cacheOptions[chatdb.UserChatCustomPrompt](o.UserPrompt, userPromptDefaults, o.Clock, nil))
		if err != nil {
			return fmt.Errorf("storewrap: UserPrompt cache: %w", err)
		}
	}
	return nil
}

// Close stops caching: it cancels the server context, so that running
// fills see the cancellation, and stops what New started. It returns
// promptly, without waiting for running fills. Close is safe to call more
// than once: the first call returns the error of stopping, if any, and
// later calls return nil. On a Querier bound to a transaction it
// does nothing and returns [ErrTxBound].
//
// After Close the Querier still works: hot reads skip the caches and go to
// the wrapped Querier, so they never return data that the stopped listener
// could no longer invalidate, and mutations are forwarded and published as
// before. A read that was waiting for a fill when Close ran is sent to the
// wrapped Querier again under the caller's context. The same holds once
// [Options.Context] is done, but only Close stops what New started.
func (q *Querier) Close() error {
	if q.tx != nil {
		return ErrTxBound
	}
	s := q.s
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		err = q.stopListener()
	})
	return err
}

// Invalidate drops the cached reads that inv makes stale, as if the change
// it describes had been made through this Querier:
//
//   - [KindProvider]: the enabled providers, every model config and the
//     default model config;
//   - [KindModelConfig]: the config with inv.ID and the default model
//     config;
//   - [KindModelConfigs]: every model config and the default model config;
//   - [KindUserPrompt]: the prompt of the user with inv.ID;
//   - [KindAll], an unknown kind, or a kind that needs an id given none:
//     everything.
//
// Fills that were running are not stored, and reads that start after
// Invalidate returns query the database. Invalidate does not publish.
func (q *Querier) Invalidate(inv Invalidation) {
	q.s.invalidate(inv)
}

// InvalidateAll drops every cached read, as Invalidate with [KindAll] does.
func (q *Querier) InvalidateAll() {
	q.s.invalidate(Invalidation{Kind: KindAll})
}

func (s *state) invalidate(inv Invalidation) {
	kind := inv.Kind
	if kind.hasID() && inv.ID == uuid.Nil {
		kind = KindAll
	}
	switch kind {
	case KindProvider:
		s.invalidateProviders()
		s.invalidateModelConfigs()
		s.invalidateDefaultModelConfig()
	case KindModelConfig:
		if s.modelConfig != nil {
			s.modelConfig.Invalidate(inv.ID)
		}
		s.invalidateDefaultModelConfig()
	case KindModelConfigs:
		s.invalidateModelConfigs()
		s.invalidateDefaultModelConfig()
	case KindUserPrompt:
		if s.userPrompt != nil {
			s.userPrompt.Invalidate(inv.ID)
		}
	default:
		s.invalidateProviders()
		s.invalidateModelConfigs()
		s.invalidateDefaultModelConfig()
		if s.userPrompt != nil {
			s.userPrompt.InvalidateAll()
		}
	}
}

func (s *state) invalidateProviders() {
	if s.providers != nil {
		s.providers.Invalidate()
	}
}

func (s *state) invalidateModelConfigs() {
	if s.modelConfig != nil {
		s.modelConfig.InvalidateAll()
	}
}

func (s *state) invalidateDefaultModelConfig() {
	if s.defaultModelConfig != nil {
		s.defaultModelConfig.Invalidate()
	}
}

// invalidateAll applies every invalidation in invs.
func (s *state) invalidateAll(invs []Invalidation) {
	for _, inv := range invs {
		s.invalidate(inv)
	}
}
