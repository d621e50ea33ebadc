package storewrap

import (
	"encoding/json"

	"github.com/hotread/hotread/chatdb"
)

// The clone functions copy every slice, map or pointer that a cached row
// holds, so that a caller who changes a returned value changes only its
// own copy. A test walks the row types by reflection and fails when a
// field of such a type is added without being copied here.

// cloneProviders returns a copy of providers. It keeps nil nil and an empty
// slice empty but not nil, as the generated query returns it.
func cloneProviders(providers []chatdb.ChatProvider) []chatdb.ChatProvider {
	if providers == nil {
		return nil
	}
	out := make([]chatdb.ChatProvider, len(providers))
	copy(out, providers)
	return out
}

// cloneModelConfig returns a copy of config whose Options share no memory
// with config's.
func cloneModelConfig(config chatdb.ChatModelConfig) chatdb.ChatModelConfig {
	config.Options = cloneRawMessage(config.Options)
	return config
}

// cloneRawMessage returns a copy of raw, keeping nil nil and an empty
// message empty but not nil.
func cloneRawMessage(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	out := make(json.RawMessage, len(raw))
	copy(out, raw)
	return out
}
