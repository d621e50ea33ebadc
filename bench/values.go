package bench

import (
	"bytes"
	"encoding/json"
	"slices"
)

// Row is the small value of the Hit, Stampede and Churn workloads.
type Row struct {
	ID   int
	Name string
}

// Config is the value of the HitClone workload, shaped like a model
// configuration: a slice of structs and raw JSON options, both of which a
// caller could change in place if the value were shared.
type Config struct {
	ID        int
	Name      string
	Providers []Provider
	Options   json.RawMessage
}

// Provider is one element of [Config.Providers].
type Provider struct {
	ID      int
	Name    string
	Enabled bool
}

// CloneConfig returns a deep copy of c: strings are immutable and shared,
// the slice and the raw JSON are copied.
func CloneConfig(c Config) Config {
	c.Providers = slices.Clone(c.Providers)
	c.Options = bytes.Clone(c.Options)
	return c
}

// NewConfig returns the Config stored for key: 8 providers and about 100
// bytes of options.
func NewConfig(key int) Config {
	providers := make([]Provider, 8)
	for i := range providers {
		providers[i] = Provider{ID: i, Name: "provider", Enabled: i%2 == 0}
	}
	return Config{
		ID:        key,
		Name:      "model-config",
		Providers: providers,
		Options:   json.RawMessage(`{"temperature":0.7,"max_tokens":4096,"top_p":0.95,"stop":["\n\n"],"stream":true}`),
	}
}
