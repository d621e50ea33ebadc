package storewrap

import (
	"testing"

	"github.com/google/uuid"
)

func TestInvalidateDropsAffectedReads(t *testing.T) {
	tests := []struct {
		name    string
		inv     Invalidation
		affects readSet
	}{
		{"Provider", Invalidation{Kind: KindProvider, ID: providerA.ID}, readProviders | readAllConfig},
		{"ModelConfig", Invalidation{Kind: KindModelConfig, ID: configC.ID}, readConfigC | readDefault},
		{"OtherModelConfig", Invalidation{Kind: KindModelConfig, ID: configD.ID}, readConfigD | readDefault},
		{"ModelConfigs", Invalidation{Kind: KindModelConfigs}, readAllConfig},
		{"UserPrompt", Invalidation{Kind: KindUserPrompt, ID: promptV.UserID}, readPromptV},
		{"UnknownUserPrompt", Invalidation{Kind: KindUserPrompt, ID: uuid.New()}, readNone},
		{"All", Invalidation{Kind: KindAll}, readEverything},
		{"UnknownKind", Invalidation{Kind: Kind(200)}, readEverything},
		{"ZeroKind", Invalidation{}, readEverything},
		{"ModelConfigWithoutID", Invalidation{Kind: KindModelConfig}, readEverything},
		{"UserPromptWithoutID", Invalidation{Kind: KindUserPrompt}, readEverything},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := primed(t, Options{}, false)
			f.q.Invalidate(tt.inv)
			f.expectReads(tt.affects)
			readAll(t, f.q)
		})
	}
}

func TestInvalidateAllDropsEverything(t *testing.T) {
	f := primed(t, Options{}, false)
	f.q.InvalidateAll()
	f.expectReads(readEverything)
	readAll(t, f.q)
}

func TestInvalidateWithDisabledCaches(t *testing.T) {
	disabled := QueryOptions{Disabled: true}
	f := newFixture(t, Options{
		Providers: disabled, ModelConfig: disabled, DefaultModelConfig: disabled, UserPrompt: disabled,
	}, false)
	// Nothing is cached, so every invalidation has nothing to drop.
	f.q.InvalidateAll()
	for kind := KindAll; kind <= KindUserPrompt; kind++ {
		f.q.Invalidate(Invalidation{Kind: kind, ID: configC.ID})
	}
	f.expectReads(readEverything)
	readAll(t, f.q)
}
