package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

func TestVersionBookStaleness(t *testing.T) {
	key := versionKey{read: readUserPrompt, id: uuid.New()}
	base := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	book := &versionBook{history: map[versionKey][]commit{
		key: {
			{fingerprint: 0},                                 // seeded: no prompt
			{fingerprint: 11, at: base},                      // first prompt
			{fingerprint: 22, at: base.Add(time.Second)},     // changed
			{fingerprint: 11, at: base.Add(2 * time.Second)}, // changed back
		},
	}}

	tests := []struct {
		name        string
		fingerprint uint64
		began       time.Time
		want        time.Duration
	}{
		{"seeded before first commit", 0, base.Add(-time.Millisecond), 0},
		{"newest before read", 22, base.Add(1500 * time.Millisecond), 0},
		{"newer than read start", 22, base.Add(500 * time.Millisecond), 0},
		{"seeded after first commit", 0, base.Add(300 * time.Millisecond), 300 * time.Millisecond},
		{"two commits behind", 0, base.Add(1500 * time.Millisecond), 1500 * time.Millisecond},
		{"old value that came back", 11, base.Add(3 * time.Second), 0},
		{"superseded value", 22, base.Add(2100 * time.Millisecond), 100 * time.Millisecond},
		{"read at commit instant", 11, base, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := book.staleness(key, tt.fingerprint, tt.began)
			if err != nil {
				t.Fatalf("staleness: %v", err)
			}
			if got != tt.want {
				t.Errorf("staleness = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVersionBookUnknownValue(t *testing.T) {
	key := versionKey{read: readProviders}
	book := &versionBook{history: map[versionKey][]commit{key: {{fingerprint: 1}}}}

	_, err := book.staleness(key, 2, time.Now())
	if err == nil {
		t.Fatal("staleness of a value never committed = nil error, want an error")
	}
	if !strings.Contains(err.Error(), "GetEnabledChatProviders") {
		t.Errorf("error = %q, want it to name the read", err)
	}
}

func TestVersionBookPrepareComplete(t *testing.T) {
	key := versionKey{read: readDefaultModelConfig}
	book := &versionBook{history: map[versionKey][]commit{key: {{fingerprint: 1}}}}

	changed := map[versionKey]uint64{key: 2}
	book.prepare(changed)

	// While the mutation runs, a read may return either value.
	for _, fingerprint := range []uint64{1, 2} {
		got, err := book.staleness(key, fingerprint, time.Now())
		if err != nil {
			t.Fatalf("staleness of %d while pending: %v", fingerprint, err)
		}
		if got != 0 {
			t.Errorf("staleness of %d while pending = %v, want 0", fingerprint, got)
		}
	}

	before := time.Now()
	book.complete(changed)

	got, err := book.staleness(key, 1, time.Now().Add(time.Second))
	if err != nil {
		t.Fatalf("staleness: %v", err)
	}
	if got < time.Second {
		t.Errorf("staleness of the replaced value a second after the commit = %v, want >= 1s", got)
	}
	if at := book.history[key][1].at; at.Before(before) {
		t.Errorf("commit time %v is before the complete call at %v", at, before)
	}
}

func TestCoherenceCheckerCounts(t *testing.T) {
	user := uuid.New()
	key := versionKey{read: readUserPrompt, id: user}
	committed := time.Now().Add(-time.Second)
	book := &versionBook{history: map[versionKey][]commit{
		key: {{fingerprint: 0}, {fingerprint: promptFingerprint("new"), at: committed}},
	}}
	c := &coherenceChecker{book: book}

	now := time.Now()
	if err := c.checkUserPrompt(user, &chatdb.UserChatCustomPrompt{Prompt: "new"}, now); err != nil {
		t.Fatalf("check the current prompt: %v", err)
	}
	if err := c.checkUserPrompt(user, nil, now); err != nil {
		t.Fatalf("check the replaced value: %v", err)
	}
	if err := c.checkUserPrompt(user, nil, committed.Add(time.Millisecond)); err != nil {
		t.Fatalf("check a read 1 ms after the commit: %v", err)
	}

	if got := c.checked.Load(); got != 3 {
		t.Errorf("checked = %d, want 3", got)
	}
	if got := c.stale.Load(); got != 1 {
		t.Errorf("stale = %d, want 1: only the read a second after the commit", got)
	}
	if got, want := time.Duration(c.maxStaleness.Load()), now.Sub(committed); got != want {
		t.Errorf("maxStaleness = %v, want %v", got, want)
	}
}

func TestNilCoherenceChecker(t *testing.T) {
	var c *coherenceChecker
	if !c.now().IsZero() {
		t.Error("now() of a nil checker is not the zero time")
	}
	if err := c.checkProviders(nil, time.Time{}); err != nil {
		t.Errorf("checkProviders of a nil checker: %v", err)
	}
	if err := c.checkUserPrompt(uuid.New(), nil, time.Time{}); err != nil {
		t.Errorf("checkUserPrompt of a nil checker: %v", err)
	}
}

func TestProvidersFingerprint(t *testing.T) {
	a := chatdb.ChatProvider{ID: uuid.New(), Provider: "a", DisplayName: "A v0", Enabled: true}
	b := chatdb.ChatProvider{ID: uuid.New(), Provider: "b", DisplayName: "B v0", Enabled: true}
	disabled := chatdb.ChatProvider{ID: uuid.New(), Provider: "c", DisplayName: "C v0"}
	renamed := a
	renamed.DisplayName = "A v1"

	ab := providersFingerprint([]chatdb.ChatProvider{a, b})
	if got := providersFingerprint([]chatdb.ChatProvider{b, a}); got != ab {
		t.Errorf("fingerprint depends on the row order: %x, want %x", got, ab)
	}
	if got := providersFingerprint([]chatdb.ChatProvider{a, b, disabled}); got != ab {
		t.Errorf("a disabled provider changed the fingerprint: %x, want %x", got, ab)
	}
	if got := providersFingerprint([]chatdb.ChatProvider{renamed, b}); got == ab {
		t.Error("renaming a provider left the fingerprint unchanged")
	}
	if got := providersFingerprint([]chatdb.ChatProvider{a}); got == ab {
		t.Error("dropping a provider left the fingerprint unchanged")
	}
}

func TestConfigFingerprint(t *testing.T) {
	c := chatdb.ChatModelConfig{ID: uuid.New(), Provider: "p", Model: "m", DisplayName: "M v0"}
	moved := c
	moved.IsDefault = true
	rewritten := c
	rewritten.Options = []byte(`{"a": 1}`)

	if configFingerprint(&c) == configFingerprint(&moved) {
		t.Error("becoming the default left the fingerprint unchanged")
	}
	if configFingerprint(&c) != configFingerprint(&rewritten) {
		t.Error("options changed the fingerprint, but PostgreSQL may rewrite their text")
	}
}
