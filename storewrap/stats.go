package storewrap

import "github.com/hotread/hotread/querycache"

// Stats is a snapshot of a [Querier]'s counters. The cache of a disabled
// query reports zero counters.
type Stats struct {
	// Providers counts the cache of GetEnabledChatProviders.
	Providers querycache.Stats
	// ModelConfig counts the cache of GetChatModelConfigByID.
	ModelConfig querycache.Stats
	// DefaultModelConfig counts the cache of GetDefaultChatModelConfig.
	DefaultModelConfig querycache.Stats
	// UserPrompt counts the cache of GetUserChatCustomPrompt.
	UserPrompt querycache.Stats

	// NotifyFailures counts notifications that failed after their mutation
	// had committed, which happens only without [Options.DB]. Each one is
	// logged; other replicas learn of the change when their TTL expires.
	NotifyFailures uint64

	// Listener describes the listener that receives other replicas'
	// invalidations.
	Listener ListenerStats
}

// Stats returns a snapshot of the counters of q's caches. A Querier bound
// to a transaction returns those of the Querier it was begun from.
func (q *Querier) Stats() Stats {
	s := q.s
	st := Stats{
		NotifyFailures: s.notifyFailures.Load(),
		Listener:       q.listenerStats(),
	}
	if s.providers != nil {
		st.Providers = s.providers.Stats()
	}
	if s.modelConfig != nil {
		st.ModelConfig = s.modelConfig.Stats()
	}
	if s.defaultModelConfig != nil {
		st.DefaultModelConfig = s.defaultModelConfig.Stats()
	}
	if s.userPrompt != nil {
		st.UserPrompt = s.userPrompt.Stats()
	}
	return st
}
