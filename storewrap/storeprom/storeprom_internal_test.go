package storeprom

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hotread/hotread/querycache"
	"github.com/hotread/hotread/querycache/promstats"
	"github.com/hotread/hotread/storewrap"
)

// TestRegisterMapsEveryField reports a snapshot in which every field has
// its own value, so that a metric that reads the wrong field, or a
// listener that is connected, shows in the scrape. A Querier with a
// connected listener needs a PostgreSQL server, so the snapshot is made by
// hand.
func TestRegisterMapsEveryField(t *testing.T) {
	snapshot := storewrap.Stats{
		Providers:          querycache.Stats{Hits: 1, Fills: 101, Entries: 1},
		ModelConfig:        querycache.Stats{Hits: 2, Fills: 102, Entries: 2},
		DefaultModelConfig: querycache.Stats{Hits: 3, Fills: 103, Entries: 3},
		UserPrompt:         querycache.Stats{Hits: 4, Fills: 104, Entries: 4},
		NotifyFailures:     15,
		Listener: storewrap.ListenerStats{
			Connected:         true,
			Reconnects:        11,
			Notifications:     12,
			MalformedPayloads: 13,
			DropAlls:          14,
		},
	}
	c := promstats.New(promstats.Options{Namespace: "chat"})
	if err := register(c, func() storewrap.Stats { return snapshot }); err != nil {
		t.Fatalf("register: %v", err)
	}

	const want = `
# HELP chat_cache_hits_total Gets answered with a fresh stored value.
# TYPE chat_cache_hits_total counter
chat_cache_hits_total{query="GetChatModelConfigByID"} 2
chat_cache_hits_total{query="GetDefaultChatModelConfig"} 3
chat_cache_hits_total{query="GetEnabledChatProviders"} 1
chat_cache_hits_total{query="GetUserChatCustomPrompt"} 4
# HELP chat_cache_fills_total Calls of the fill function, that is, database calls.
# TYPE chat_cache_fills_total counter
chat_cache_fills_total{query="GetChatModelConfigByID"} 102
chat_cache_fills_total{query="GetDefaultChatModelConfig"} 103
chat_cache_fills_total{query="GetEnabledChatProviders"} 101
chat_cache_fills_total{query="GetUserChatCustomPrompt"} 104
# HELP chat_cache_entries Keys stored, including expired keys not yet removed.
# TYPE chat_cache_entries gauge
chat_cache_entries{query="GetChatModelConfigByID"} 2
chat_cache_entries{query="GetDefaultChatModelConfig"} 3
chat_cache_entries{query="GetEnabledChatProviders"} 1
chat_cache_entries{query="GetUserChatCustomPrompt"} 4
# HELP chat_listener_connected 1 while the listener for invalidations from other replicas is connected, else 0.
# TYPE chat_listener_connected gauge
chat_listener_connected 1
# HELP chat_listener_reconnects_total Connections the listener made after losing one.
# TYPE chat_listener_reconnects_total counter
chat_listener_reconnects_total 11
# HELP chat_listener_notifications_total Invalidation notifications the listener received.
# TYPE chat_listener_notifications_total counter
chat_listener_notifications_total 12
# HELP chat_listener_malformed_payloads_total Notifications whose payload the listener could not parse.
# TYPE chat_listener_malformed_payloads_total counter
chat_listener_malformed_payloads_total 13
# HELP chat_listener_drop_alls_total Times the listener dropped every cached read.
# TYPE chat_listener_drop_alls_total counter
chat_listener_drop_alls_total 14
# HELP chat_notify_failures_total Invalidations not published after their mutation had committed.
# TYPE chat_notify_failures_total counter
chat_notify_failures_total 15
`
	err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"chat_cache_hits_total",
		"chat_cache_fills_total",
		"chat_cache_entries",
		"chat_listener_connected",
		"chat_listener_reconnects_total",
		"chat_listener_notifications_total",
		"chat_listener_malformed_payloads_total",
		"chat_listener_drop_alls_total",
		"chat_notify_failures_total",
	)
	if err != nil {
		t.Errorf("collected metrics differ:\n%v", err)
	}
}
