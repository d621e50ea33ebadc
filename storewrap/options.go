package storewrap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/coder/quartz"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/querycache"
)

// DefaultChannel is the notification channel used when [Options.Channel]
// is empty.
const DefaultChannel = "hotread_invalidate"

// maxChannelLen is the longest channel name PostgreSQL accepts: an
// identifier of at most NAMEDATALEN-1 bytes, 63 in a default build.
const maxChannelLen = 63

// Default per-query settings, used where a [QueryOptions] field is zero.
const (
	// DefaultConfigTTL is the default TTL of the providers, a model config
	// and the default model config.
	DefaultConfigTTL = 10 * time.Second
	// DefaultUserPromptTTL is the default TTL of a user's custom prompt.
	DefaultUserPromptTTL = 5 * time.Second
	// DefaultModelConfigMaxEntries is the default bound on cached model
	// config ids.
	DefaultModelConfigMaxEntries = 4096
	// DefaultUserPromptMaxEntries is the default bound on cached users.
	DefaultUserPromptMaxEntries = 65536
)

const (
	// queryHasNoKey is the maxEntries default of a query without a key.
	queryHasNoKey = -1
)

// Options configures a [Querier]. [New] validates it and keeps its own copy,
// so the caller's struct is never modified and later changes to it have no
// effect. The zero value is valid: every zero field selects the documented
// default.
type Options struct {
	// Providers configures the cache of GetEnabledChatProviders. Defaults:
	// TTL 10s. The query returns an empty slice rather than sql.ErrNoRows,
	// so NotFoundTTL and DisableNotFoundCache have no effect, and the query
	// has no key, so neither has MaxEntries.
	Providers QueryOptions

	// ModelConfig configures the cache of GetChatModelConfigByID, keyed by
	// config id. Defaults: TTL 10s, at most 4,096 ids, and sql.ErrNoRows
	// cached for NotFoundTTL. Caching "not found" is safe here because every
	// decorated write that can create an id invalidates it: an insert
	// invalidates the id it returns. The bound keeps callers that look up
	// random ids from growing the cache without limit.
	ModelConfig QueryOptions

	// DefaultModelConfig configures the cache of GetDefaultChatModelConfig.
	// Defaults: TTL 10s, and sql.ErrNoRows (no default config) cached for
	// NotFoundTTL. The query has no key, so MaxEntries has no effect.
	DefaultModelConfig QueryOptions

	// UserPrompt configures the cache of GetUserChatCustomPrompt, keyed by
	// user id. Defaults: TTL 5s, at most 65,536 users, and sql.ErrNoRows
	// cached for NotFoundTTL, because most users have no custom prompt.
	UserPrompt QueryOptions

	// Clock is the time source of every TTL. Nil means the real clock.
	// Tests pass quartz's mock clock to drive expiry without sleeping.
	Clock quartz.Clock

	// Logger receives the errors that cannot be returned to a caller, such
	// as a notification that failed after its mutation had committed. Nil
	// discards them.
	Logger *slog.Logger

	// Context is the parent of the server context, under which every cache
	// fill runs. Once it is done, running fills see the cancellation and
	// hot reads skip the caches, as after [Querier.Close]; Close must still
	// be called. Nil means context.Background().
	Context context.Context

	// DB is the database that the wrapped Querier uses. It is needed by
	// [Querier.InTx] and [Querier.Begin], and lets a mutation outside a
	// transaction commit together with its notification: the decorator
	// then runs the mutation and pg_notify through TxQuerier in one short
	// transaction on DB, not through the wrapped Querier. Leave it nil when
	// the wrapped Querier is bound to a transaction of its own. Nil means
	// mutations go to the wrapped Querier, followed by a separate
	// notification.
	DB *sql.DB

	// TxQuerier returns a Querier bound to a transaction of DB. Nil means
	// chatdb.New(tx). Set it when the wrapped Querier is itself a decorator
	// (metrics, tracing) whose behavior transactions should keep.
	TxQuerier func(*sql.Tx) chatdb.Querier

	// Channel is the PostgreSQL notification channel on which mutations
	// publish their invalidations and on which other replicas listen. It
	// must be 1 to 63 bytes of lower-case ASCII letters, digits and
	// underscores, starting with a letter or an underscore, so that it names
	// the same channel in pg_notify, in LISTEN and in SQL triggers, quoted
	// or not. Empty means [DefaultChannel].
	Channel string

	// DisablePublish stops mutations from sending notifications. Set it when
	// the database sends them itself through triggers on the cached tables,
	// so that a change is not announced twice. Local invalidation is kept.
	DisablePublish bool

	// Listener configures how this replica receives the invalidations that
	// other replicas publish.
	Listener ListenerOptions
}

// QueryOptions configures the cache of one hot read. Every zero field
// selects the default that the corresponding field of [Options] documents.
type QueryOptions struct {
	// TTL is how long a result is served before the next read queries the
	// database again. Zero means the query's default; it must not be
	// negative.
	TTL time.Duration

	// NotFoundTTL is how long a cached sql.ErrNoRows is served. Zero means
	// TTL; it must not be negative.
	NotFoundTTL time.Duration

	// MaxEntries bounds how many keys the cache holds, "not found" results
	// included. When the bound is reached, a new key evicts one that has
	// not been read recently. Zero means the query's default; a negative
	// value removes the bound. It has no effect on a query without a key.
	MaxEntries int

	// TTLJitter shortens each result's lifetime by a random fraction of the
	// TTL, drawn from [0, TTLJitter), so that replicas started together do
	// not all query at the same moment. It must be in [0, 1); zero
	// disables jitter.
	TTLJitter float64

	// StaleWhileRefresh is how long after its TTL a result may still be
	// served while one background query refreshes it. Data can then be up
	// to TTL + StaleWhileRefresh old; an invalidation still removes it at
	// once. Zero disables the window; it must not be negative.
	StaleWhileRefresh time.Duration

	// Disabled turns the cache of this query off: every read goes to the
	// wrapped Querier.
	Disabled bool

	// DisableNotFoundCache stops caching sql.ErrNoRows, so that every read
	// of a missing row queries the database.
	DisableNotFoundCache bool
}

// queryDefaults holds one hot read's defaults.
type queryDefaults struct {
	name       string // field name in Options, for error messages
	ttl        time.Duration
	maxEntries int // queryHasNoKey for a singleton
	notFound   bool
}

var (
	providersDefaults = queryDefaults{
		// The query returns an empty slice, never sql.ErrNoRows.
		name: "Providers", ttl: DefaultConfigTTL, maxEntries: queryHasNoKey,
	}
	modelConfigDefaults = queryDefaults{
		name: "ModelConfig", ttl: DefaultConfigTTL, maxEntries: DefaultModelConfigMaxEntries,
		notFound: true,
	}
	defaultModelConfigDefaults = queryDefaults{
		name: "DefaultModelConfig", ttl: DefaultConfigTTL, maxEntries: queryHasNoKey,
		notFound: true,
	}
	userPromptDefaults = queryDefaults{
		name: "UserPrompt", ttl: DefaultUserPromptTTL, maxEntries: DefaultUserPromptMaxEntries,
		notFound: true,
	}
)

// validate returns an error naming the first invalid field of o.
func (o *Options) validate() error {
	for _, q := range []struct {
		opts     *QueryOptions
		defaults queryDefaults
	}{
		{&o.Providers, providersDefaults},
		{&o.ModelConfig, modelConfigDefaults},
		{&o.DefaultModelConfig, defaultModelConfigDefaults},
		{&o.UserPrompt, userPromptDefaults},
	} {
		if err := q.opts.validate(q.defaults); err != nil {
			return err
		}
	}
	if o.Channel != "" {
		if err := validateChannel(o.Channel); err != nil {
			return err
		}
	}
	return o.Listener.validate()
}

func (o *QueryOptions) validate(d queryDefaults) error {
	switch {
	case o.TTL < 0:
		return fmt.Errorf("%w: %s.TTL is %v, want zero (default %v) or a positive duration",
			ErrInvalidOptions, d.name, o.TTL, d.ttl)
	case o.NotFoundTTL < 0:
		return fmt.Errorf("%w: %s.NotFoundTTL is %v, want zero (the TTL) or a positive duration",
			ErrInvalidOptions, d.name, o.NotFoundTTL)
	case o.TTLJitter < 0 || o.TTLJitter >= 1 || math.IsNaN(o.TTLJitter):
		return fmt.Errorf("%w: %s.TTLJitter is %v, want a fraction in [0, 1)",
			ErrInvalidOptions, d.name, o.TTLJitter)
	case o.StaleWhileRefresh < 0:
		return fmt.Errorf("%w: %s.StaleWhileRefresh is %v, want zero or a positive duration",
			ErrInvalidOptions, d.name, o.StaleWhileRefresh)
	}
	return nil
}

// validateChannel returns an error unless name is a channel name that
// PostgreSQL reads the same quoted and unquoted.
func validateChannel(name string) error {
	if len(name) > maxChannelLen {
		return fmt.Errorf("%w: Channel %q is %d bytes, want at most %d",
			ErrInvalidOptions, name, len(name), maxChannelLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c == '_'
		digit := c >= '0' && c <= '9'
		if !letter && !(digit && i > 0) {
			return fmt.Errorf("%w: Channel %q has %q at byte %d, want lower-case letters, "+
				"digits and underscores, not starting with a digit", ErrInvalidOptions, name, c, i)
		}
	}
	return nil
}

// withDefaults returns a copy of o with every zero field that has a
// default set to it. o must be valid.
func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = quartz.NewReal()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.TxQuerier == nil {
		o.TxQuerier = func(tx *sql.Tx) chatdb.Querier { return chatdb.New(tx) }
	}
	if o.Channel == "" {
		o.Channel = DefaultChannel
	}
	return o
}

// cacheOptions returns the querycache options of one hot read from o and
// the query's defaults.
func cacheOptions[V any](
	o QueryOptions,
	d queryDefaults,
	clock quartz.Clock,
	clone func(V) V,
) querycache.Options[V] {
	opts := querycache.Options[V]{
		TTL:               o.TTL,
		NotFoundTTL:       o.NotFoundTTL,
		TTLJitter:         o.TTLJitter,
		StaleWhileRefresh: o.StaleWhileRefresh,
		Clone:             clone,
		Clock:             clock,
	}
	if opts.TTL == 0 {
		opts.TTL = d.ttl
	}
	if d.notFound && !o.DisableNotFoundCache {
		opts.NotFound = isNoRows
	}
	switch {
	case d.maxEntries == queryHasNoKey || o.MaxEntries < 0:
		opts.MaxEntries = 0 // no bound
	case o.MaxEntries == 0:
		opts.MaxEntries = d.maxEntries
	default:
		opts.MaxEntries = o.MaxEntries
	}
	return opts
}

func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows)
}
