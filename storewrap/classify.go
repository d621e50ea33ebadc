package storewrap

import (
	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

// class is the treatment that a Querier gives one method of
// [chatdb.Querier].
type class uint8

const (
	// passThrough forwards the call unchanged. The method reads no cached
	// result and changes no table that a cached read reads.
	passThrough class = iota + 1
	// cachedRead serves the call from a cache, except inside a
	// transaction.
	cachedRead
	// mutation forwards the call and, once it has succeeded, invalidates
	// the reads it made stale, here and on other replicas.
	mutation
)

// invalidator returns the invalidations of a mutation that succeeded,
// computed from its argument (nil for a method without one) and its result
// (nil for a method that returns only an error).
type invalidator func(arg, result any) []Invalidation

// rule is the classification of one method.
type rule struct {
	class class
	// invalidations is set for mutations only.
	invalidations invalidator
}

// rules classifies every method of [chatdb.Querier] by name. A test fails
// when a method of the interface has no rule or a rule names no method, so
// a query added to queries.sql cannot bypass invalidation unnoticed. The
// methods of [Querier] look their rule up here; see invalidationsOf.
var rules = map[string]rule{
	// The hot reads, each backed by one cache.
	"GetEnabledChatProviders":   {class: cachedRead},
	"GetChatModelConfigByID":    {class: cachedRead},
	"GetDefaultChatModelConfig": {class: cachedRead},
	"GetUserChatCustomPrompt":   {class: cachedRead},

	// Writes to chat_providers. Deleting a provider deletes its configs and
	// renaming one renames theirs, so every kind of provider change drops
	// all configs too.
	"InsertChatProvider": {mutation, fromResult(KindProvider,
		func(p chatdb.ChatProvider) uuid.UUID { return p.ID })},
	"UpdateChatProvider": {mutation, fromArg(KindProvider,
		func(p chatdb.UpdateChatProviderParams) uuid.UUID { return p.ID })},
	"DeleteChatProvider": {mutation, fromArg(KindProvider, idArg)},

	// Writes to chat_model_configs. Moving or clearing the default changes
	// the old default row too, whose id the call does not name.
	"InsertChatModelConfig": {mutation, fromResult(KindModelConfig,
		func(c chatdb.ChatModelConfig) uuid.UUID { return c.ID })},
	"UpdateChatModelConfig": {mutation, fromArg(KindModelConfig,
		func(p chatdb.UpdateChatModelConfigParams) uuid.UUID { return p.ID })},
	"DeleteChatModelConfig":       {mutation, fromArg(KindModelConfig, idArg)},
	"SetDefaultChatModelConfig":   {mutation, always(KindModelConfigs)},
	"ClearDefaultChatModelConfig": {mutation, always(KindModelConfigs)},

	// Writes to user_chat_custom_prompts.
	"UpsertUserChatCustomPrompt": {mutation, fromArg(KindUserPrompt,
		func(p chatdb.UpsertUserChatCustomPromptParams) uuid.UUID { return p.UserID })},
	"DeleteUserChatCustomPrompt": {mutation, fromArg(KindUserPrompt, idArg)},

	// Reads that are not cached, writes to tables that no cached read
	// reads, and the notification itself.
	"CountChatMessages":    {class: passThrough},
	"GetChatByID":          {class: passThrough},
	"GetChatProviderByID":  {class: passThrough},
	"InsertChat":           {class: passThrough},
	"InsertChatMessage":    {class: passThrough},
	"ListChatMessages":     {class: passThrough},
	"ListChatModelConfigs": {class: passThrough},
	"ListChatProviders":    {class: passThrough},
	"NotifyInvalidation":   {class: passThrough},
}

// invalidationsOf returns the invalidations of the mutation name that
// succeeded with arg and result. When the rule is missing, or does not fit
// the argument's or result's type, it returns [KindAll]: an error in the
// table costs extra queries, never a stale read.
func invalidationsOf(name string, arg, result any) []Invalidation {
	r, ok := rules[name]
	if !ok || r.class != mutation || r.invalidations == nil {
		return []Invalidation{{Kind: KindAll}}
	}
	return r.invalidations(arg, result)
}

func idArg(id uuid.UUID) uuid.UUID { return id }

// fromArg returns an invalidator of kind for the id that id extracts from
// the mutation's argument.
func fromArg[A any](kind Kind, id func(A) uuid.UUID) invalidator {
	return func(arg, _ any) []Invalidation {
		a, ok := arg.(A)
		if !ok {
			return []Invalidation{{Kind: KindAll}}
		}
		return []Invalidation{{Kind: kind, ID: id(a)}}
	}
}

// fromResult returns an invalidator of kind for the id that id extracts
// from the mutation's result.
func fromResult[R any](kind Kind, id func(R) uuid.UUID) invalidator {
	return func(_, result any) []Invalidation {
		r, ok := result.(R)
		if !ok {
			return []Invalidation{{Kind: KindAll}}
		}
		return []Invalidation{{Kind: kind, ID: id(r)}}
	}
}

// always returns an invalidator of kind, which names no row.
func always(kind Kind) invalidator {
	return func(_, _ any) []Invalidation {
		return []Invalidation{{Kind: kind}}
	}
}
