package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

// staleThreshold is how much older than the newest commit a read may be
// before it counts as stale: the time a notification may take to reach
// another replica on loopback, with a wide margin.
const staleThreshold = 100 * time.Millisecond

// readKind names one of the four hot reads.
type readKind uint8

const (
	readProviders readKind = iota
	readModelConfig
	readDefaultModelConfig
	readUserPrompt
)

// versionKey names one cached value: a hot read and, for the keyed ones,
// the id.
type versionKey struct {
	read readKind
	id   uuid.UUID
}

// commit is one committed value of a key, identified by its fingerprint.
type commit struct {
	fingerprint uint64
	// at is when the commit had completed: zero for the seeded value, and
	// pendingCommit while the admin's mutation runs.
	at time.Time
}

// pendingCommit is the commit time of a value whose mutation has not
// returned yet. A read may already see such a value, because the commit
// completes in the database before the mutation returns, so it counts as
// newer than every read.
var pendingCommit = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// versionBook records, for every key that the hot reads return, the
// fingerprint of each committed value and when its commit completed. The
// admin appends to it after each commit; readers look values up in it.
type versionBook struct {
	mu      sync.RWMutex
	history map[versionKey][]commit // guarded by mu; ordered by commit time
}

// newVersionBook returns a book whose every key has the seeded value of ds.
func newVersionBook(ds *dataset) *versionBook {
	b := &versionBook{history: make(map[versionKey][]commit)}
	seeded := func(k versionKey, fingerprint uint64) {
		b.history[k] = []commit{{fingerprint: fingerprint}}
	}

	seeded(versionKey{read: readProviders}, providersFingerprint(ds.providers))
	for i := range ds.configs {
		c := &ds.configs[i]
		seeded(versionKey{read: readModelConfig, id: c.ID}, configFingerprint(c))
		if c.IsDefault {
			seeded(versionKey{read: readDefaultModelConfig}, configFingerprint(c))
		}
	}
	for _, user := range ds.users {
		fingerprint := uint64(0)
		if prompt, ok := ds.prompts[user]; ok {
			fingerprint = promptFingerprint(prompt)
		}
		seeded(versionKey{read: readUserPrompt, id: user}, fingerprint)
	}
	return b
}

// prepare appends the new fingerprints of keys that one mutation is about
// to change, as pending. The admin calls it before the mutation and
// complete after it.
func (b *versionBook) prepare(changes map[versionKey]uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, fingerprint := range changes {
		b.history[k] = append(b.history[k], commit{fingerprint: fingerprint, at: pendingCommit})
	}
}

// complete sets the commit time of the values that prepare appended for
// keys to now, and returns that time. The time is read with the lock held,
// so that a read that begins after it is checked against the new values.
func (b *versionBook) complete(keys map[versionKey]uint64) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	at := time.Now()
	for k := range keys {
		h := b.history[k]
		h[len(h)-1].at = at
	}
	return at
}

// staleness returns how long the value with the fingerprint had been
// superseded when a read of key that began at began returned it: zero when
// it is the newest value committed before began, or a newer one. It
// returns an error when no commit of key had that value.
//
// A value that was committed more than once is matched with its newest
// commit, so a read that returns the current value is never stale. A
// pending value counts as newer than every read.
func (b *versionBook) staleness(key versionKey, fingerprint uint64, began time.Time) (time.Duration, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	history := b.history[key]

	// newest is the last commit completed before the read began. The
	// seeded value at index 0 always qualifies.
	newest := len(history) - 1
	for newest > 0 && !history[newest].at.Before(began) {
		newest--
	}
	for i := len(history) - 1; i >= newest; i-- {
		if history[i].fingerprint == fingerprint {
			return 0, nil
		}
	}
	for i := newest - 1; i >= 0; i-- {
		if history[i].fingerprint == fingerprint {
			return began.Sub(history[i+1].at), nil
		}
	}
	return 0, fmt.Errorf("coherence: a read of %v returned a value that was never committed", key)
}

// String returns the key as the read's name and id, for error messages.
func (k versionKey) String() string {
	switch k.read {
	case readProviders:
		return "GetEnabledChatProviders"
	case readModelConfig:
		return "GetChatModelConfigByID " + k.id.String()
	case readDefaultModelConfig:
		return "GetDefaultChatModelConfig"
	default:
		return "GetUserChatCustomPrompt " + k.id.String()
	}
}

// coherenceChecker checks hot read results against a versionBook and
// counts stale reads. A nil *coherenceChecker checks nothing, so the runs
// without an admin pay no clock reads.
type coherenceChecker struct {
	book *versionBook

	checked      atomic.Int64
	stale        atomic.Int64
	maxStaleness atomic.Int64 // nanoseconds
}

// now returns the time a read begins, or the zero time when c is nil.
func (c *coherenceChecker) now() time.Time {
	if c == nil {
		return time.Time{}
	}
	return time.Now()
}

func (c *coherenceChecker) checkProviders(rows []chatdb.ChatProvider, began time.Time) error {
	if c == nil {
		return nil
	}
	return c.check(versionKey{read: readProviders}, providersFingerprint(rows), began)
}

func (c *coherenceChecker) checkModelConfig(id uuid.UUID, row *chatdb.ChatModelConfig, began time.Time) error {
	if c == nil {
		return nil
	}
	return c.check(versionKey{read: readModelConfig, id: id}, configFingerprint(row), began)
}

func (c *coherenceChecker) checkDefaultModelConfig(row *chatdb.ChatModelConfig, began time.Time) error {
	if c == nil {
		return nil
	}
	return c.check(versionKey{read: readDefaultModelConfig}, configFingerprint(row), began)
}

// checkUserPrompt checks a prompt read; row is nil when the user has none.
func (c *coherenceChecker) checkUserPrompt(user uuid.UUID, row *chatdb.UserChatCustomPrompt, began time.Time) error {
	if c == nil {
		return nil
	}
	fingerprint := uint64(0)
	if row != nil {
		fingerprint = promptFingerprint(row.Prompt)
	}
	return c.check(versionKey{read: readUserPrompt, id: user}, fingerprint, began)
}

func (c *coherenceChecker) check(key versionKey, fingerprint uint64, began time.Time) error {
	staleness, err := c.book.staleness(key, fingerprint, began)
	if err != nil {
		return err
	}

	c.checked.Add(1)
	if staleness > staleThreshold {
		c.stale.Add(1)
	}
	for {
		current := c.maxStaleness.Load()
		if int64(staleness) <= current || c.maxStaleness.CompareAndSwap(current, int64(staleness)) {
			return nil
		}
	}
}

// FNV-1a, 64 bits, computed inline so that fingerprinting allocates
// nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return (h ^ 0xff) * fnvPrime // end marker, so that "ab"+"c" differs from "a"+"bc"
}

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return (h ^ 0xff) * fnvPrime
}

func hashBool(h uint64, b bool) uint64 {
	if b {
		return (h ^ 1) * fnvPrime
	}
	return (h ^ 2) * fnvPrime
}

// providersFingerprint returns the fingerprint of a list of enabled
// providers: the sum of each row's hash, so that it does not depend on the
// order, which is the database's collation order. Timestamps are left out
// because the admin's model of the data does not know them.
func providersFingerprint(rows []chatdb.ChatProvider) uint64 {
	var sum uint64
	for i := range rows {
		if rows[i].Enabled {
			sum += providerFingerprint(&rows[i])
		}
	}
	return sum
}

func providerFingerprint(p *chatdb.ChatProvider) uint64 {
	h := hashBytes(fnvOffset, p.ID[:])
	h = hashString(h, p.Provider)
	h = hashString(h, p.DisplayName)
	h = hashString(h, p.APIKey)
	return hashBool(h, p.Enabled)
}

// configFingerprint returns the fingerprint of a model config. Options are
// left out because PostgreSQL rewrites jsonb text; every change the admin
// makes also changes the display name.
func configFingerprint(c *chatdb.ChatModelConfig) uint64 {
	h := hashBytes(fnvOffset, c.ID[:])
	h = hashString(h, c.Provider)
	h = hashString(h, c.Model)
	h = hashString(h, c.DisplayName)
	h = hashBool(h, c.Enabled)
	return hashBool(h, c.IsDefault)
}

// promptFingerprint returns the fingerprint of a prompt's text. Zero stands
// for "no prompt", which no text hashes to in practice.
func promptFingerprint(prompt string) uint64 {
	return hashString(fnvOffset, prompt)
}

// changeKind classifies the admin's changes by the cached reads that
// storewrap invalidates for them.
type changeKind uint8

const (
	// changeProvider is a provider update. It invalidates the providers,
	// every model config and the default model config.
	changeProvider changeKind = iota
	// changeModelConfig is an update of one model config. It invalidates
	// that config and the default model config.
	changeModelConfig
	// changeDefault moves the default to another model config. It
	// invalidates every model config and the default model config.
	changeDefault
	// changePrompt is an upsert of one user's prompt. It invalidates that
	// user's prompt.
	changePrompt
)

// adminChange is one committed change of the admin, for the floor of each
// hot read.
type adminChange struct {
	kind changeKind
	id   uuid.UUID // the model config or the user changed; zero for the other kinds
	at   time.Time // when the mutation had returned, so its commit had completed
}

// admin changes providers, model configs and prompts through one replica,
// like an administrator in a web page, and records each committed value in
// a versionBook. It never deletes, so every hot read keeps returning rows
// (prompts excepted, which most users never have).
type admin struct {
	q    chatdb.Querier
	book *versionBook
	rng  *rand.Rand

	// The admin's model of the data: it is the only writer during the run.
	providers []chatdb.ChatProvider
	configs   []chatdb.ChatModelConfig
	users     []uuid.UUID

	version int // number of changes made, written into changed rows
	changes []adminChange
}

func newAdmin(q chatdb.Querier, book *versionBook, ds *dataset, seed uint64) *admin {
	return &admin{
		q:         q,
		book:      book,
		rng:       rand.New(rand.NewPCG(seed, 0xad3117)),
		providers: append([]chatdb.ChatProvider(nil), ds.providers...),
		configs:   append([]chatdb.ChatModelConfig(nil), ds.configs...),
		users:     ds.users,
	}
}

// run makes rate changes per second until ctx is done. It returns nil when
// ctx ends, and the error of the first failed change otherwise.
func (a *admin) run(ctx context.Context, rate float64) error {
	interval := max(time.Duration(float64(time.Second)/rate), time.Microsecond)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := a.change(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("admin change %d: %w", a.version, err)
		}
	}
}

// change makes the next change, cycling through the four kinds.
func (a *admin) change(ctx context.Context) error {
	a.version++
	kinds := 4
	if len(a.configs) < 2 {
		kinds = 3 // the default cannot move with a single config
	}
	switch a.version % kinds {
	case 0:
		return a.updateProvider(ctx)
	case 1:
		return a.updateConfig(ctx)
	case 2:
		return a.upsertPrompt(ctx)
	default:
		return a.moveDefault(ctx)
	}
}

func (a *admin) suffix() string {
	return " v" + strconv.Itoa(a.version)
}

// mutateRecorded records changed as pending in the book, runs mutate and
// then completes the commit and appends change, stamped with the commit
// time, to a.changes. The values must be predicted before the mutation,
// because another replica may read them as soon as the database has
// committed, before mutate returns.
func (a *admin) mutateRecorded(change adminChange, changed map[versionKey]uint64, mutate func() error) error {
	a.book.prepare(changed)
	if err := mutate(); err != nil {
		return err
	}
	change.at = a.book.complete(changed)
	a.changes = append(a.changes, change)
	return nil
}

// updateProvider renames and re-keys a provider, and enables or disables
// it one time in three.
func (a *admin) updateProvider(ctx context.Context) error {
	p := &a.providers[a.rng.IntN(len(a.providers))]
	next := *p
	next.DisplayName = p.Provider + a.suffix()
	next.APIKey = "key-" + p.Provider + a.suffix()
	if a.rng.IntN(3) == 0 {
		next.Enabled = !next.Enabled
	}

	old := *p
	*p = next
	changed := map[versionKey]uint64{{read: readProviders}: providersFingerprint(a.providers)}
	*p = old

	return a.mutateRecorded(adminChange{kind: changeProvider}, changed, func() error {
		row, err := a.q.UpdateChatProvider(ctx, chatdb.UpdateChatProviderParams{
			ID:          next.ID,
			DisplayName: next.DisplayName,
			APIKey:      next.APIKey,
			Enabled:     next.Enabled,
		})
		if err != nil {
			return fmt.Errorf("UpdateChatProvider %s: %w", next.ID, err)
		}
		if providerFingerprint(&row) != providerFingerprint(&next) {
			return fmt.Errorf("UpdateChatProvider %s stored %+v, want %+v", next.ID, row, next)
		}
		*p = row
		return nil
	})
}

// updateConfig renames a model config and changes its options.
func (a *admin) updateConfig(ctx context.Context) error {
	c := &a.configs[a.rng.IntN(len(a.configs))]
	next := *c
	next.DisplayName = c.Model + a.suffix()
	next.Options = []byte(`{"version": ` + strconv.Itoa(a.version) + `}`)

	changed := map[versionKey]uint64{
		{read: readModelConfig, id: next.ID}: configFingerprint(&next),
	}
	if next.IsDefault {
		changed[versionKey{read: readDefaultModelConfig}] = configFingerprint(&next)
	}

	change := adminChange{kind: changeModelConfig, id: next.ID}
	return a.mutateRecorded(change, changed, func() error {
		row, err := a.q.UpdateChatModelConfig(ctx, chatdb.UpdateChatModelConfigParams{
			ID:          next.ID,
			Provider:    next.Provider,
			Model:       next.Model,
			DisplayName: next.DisplayName,
			Enabled:     next.Enabled,
			Options:     next.Options,
		})
		if err != nil {
			return fmt.Errorf("UpdateChatModelConfig %s: %w", next.ID, err)
		}
		if configFingerprint(&row) != configFingerprint(&next) {
			return fmt.Errorf("UpdateChatModelConfig %s stored %+v, want %+v", next.ID, row, next)
		}
		*c = row
		return nil
	})
}

// moveDefault makes another model config the default.
func (a *admin) moveDefault(ctx context.Context) error {
	old := -1
	for i := range a.configs {
		if a.configs[i].IsDefault {
			old = i
		}
	}
	next := a.rng.IntN(len(a.configs) - 1)
	if old >= 0 && next >= old {
		next++ // any config but the current default
	}

	c := &a.configs[next]
	becomes := *c
	becomes.IsDefault = true
	changed := map[versionKey]uint64{
		{read: readModelConfig, id: c.ID}: configFingerprint(&becomes),
		{read: readDefaultModelConfig}:    configFingerprint(&becomes),
	}
	if old >= 0 {
		was := a.configs[old]
		was.IsDefault = false
		changed[versionKey{read: readModelConfig, id: was.ID}] = configFingerprint(&was)
	}

	return a.mutateRecorded(adminChange{kind: changeDefault}, changed, func() error {
		if err := a.q.SetDefaultChatModelConfig(ctx, c.ID); err != nil {
			return fmt.Errorf("SetDefaultChatModelConfig %s: %w", c.ID, err)
		}
		c.IsDefault = true
		if old >= 0 {
			a.configs[old].IsDefault = false
		}
		return nil
	})
}

// upsertPrompt sets a user's custom prompt, creating it for most users.
func (a *admin) upsertPrompt(ctx context.Context) error {
	user := a.users[a.rng.IntN(len(a.users))]
	prompt := "Answer briefly." + a.suffix()
	changed := map[versionKey]uint64{
		{read: readUserPrompt, id: user}: promptFingerprint(prompt),
	}

	change := adminChange{kind: changePrompt, id: user}
	return a.mutateRecorded(change, changed, func() error {
		if _, err := a.q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
			UserID: user,
			Prompt: prompt,
		}); err != nil {
			return fmt.Errorf("UpsertUserChatCustomPrompt %s: %w", user, err)
		}
		return nil
	})
}
