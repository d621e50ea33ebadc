package storeprom_test

import (
	"context"
	"fmt"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotread/hotread/chatdb"
	"github.com/hotread/hotread/querycache/promstats"
	"github.com/hotread/hotread/storewrap"
	"github.com/hotread/hotread/storewrap/storeprom"
)

// ExampleRegister exports the metrics of a Querier, reads the enabled
// providers three times and prints a few of the gathered values: one
// database call, two hits and no listener. go-sqlmock replaces PostgreSQL
// so that the example runs anywhere. A service would serve reg over HTTP
// with promhttp.HandlerFor.
func ExampleRegister() {
	db, mock, err := sqlmock.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	mock.ExpectQuery("GetEnabledChatProviders").WillReturnRows(sqlmock.NewRows(providerColumns).
		AddRow(uuid.NewString(), "openai", "OpenAI", "sk-example", true, time.Now(), time.Now()))

	q, err := storewrap.New(chatdb.New(db), storewrap.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()

	// Register adds the Querier's metrics before the Collector is
	// registered, so that the registry checks all of them.
	metrics := promstats.New(promstats.Options{})
	if err := storeprom.Register(metrics, q); err != nil {
		fmt.Println(err)
		return
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics)

	ctx := context.Background()
	for range 3 {
		if _, err := q.GetEnabledChatProviders(ctx); err != nil {
			fmt.Println(err)
			return
		}
	}

	families, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, family := range families {
		switch family.GetName() {
		case "hotread_cache_fills_total", "hotread_cache_hits_total":
			for _, m := range family.GetMetric() {
				if query := m.GetLabel()[0].GetValue(); query == "GetEnabledChatProviders" {
					fmt.Printf("%s{query=%q} %v\n", family.GetName(), query, m.GetCounter().GetValue())
				}
			}
		case "hotread_listener_connected":
			fmt.Printf("%s %v\n", family.GetName(), family.GetMetric()[0].GetGauge().GetValue())
		}
	}
	// Output:
	// hotread_cache_fills_total{query="GetEnabledChatProviders"} 1
	// hotread_cache_hits_total{query="GetEnabledChatProviders"} 2
	// hotread_listener_connected 0
}
