package promstats_test

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotread/hotread/querycache"
	"github.com/hotread/hotread/querycache/promstats"
)

func ExampleCollector() {
	ctx := context.Background()
	prompts, err := querycache.New(ctx, func(_ context.Context, userID int) (string, error) {
		return fmt.Sprintf("prompt of user %d", userID), nil
	}, querycache.Options[string]{TTL: time.Minute})
	if err != nil {
		panic(err)
	}

	metrics := promstats.New(promstats.Options{})
	if err := metrics.Add("user_prompt", prompts); err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)

	for range 3 {
		_, _ = prompts.Get(ctx, 42) // one miss, then two hits
	}

	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, family := range families {
		switch family.GetName() {
		case "hotread_cache_hits_total", "hotread_cache_fills_total", "hotread_cache_entries":
			for _, m := range family.GetMetric() {
				value := m.GetCounter().GetValue() + m.GetGauge().GetValue()
				fmt.Printf("%s{query=%q} %v\n", family.GetName(), m.GetLabel()[0].GetValue(), value)
			}
		}
	}
	// Output:
	// hotread_cache_entries{query="user_prompt"} 1
	// hotread_cache_fills_total{query="user_prompt"} 1
	// hotread_cache_hits_total{query="user_prompt"} 2
}
