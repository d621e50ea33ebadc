package querycache_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hotread/hotread/querycache"
)

// An Entry caches a query keyed by its parameter. The fill here plays a
// database query that returns sql.ErrNoRows for users without a prompt,
// and NotFound stores that answer too.
func ExampleEntry() {
	prompts := map[string]string{"alice": "Answer briefly."}
	queries := 0
	getPrompt := func(_ context.Context, user string) (string, error) {
		queries++
		p, ok := prompts[user]
		if !ok {
			return "", sql.ErrNoRows
		}
		return p, nil
	}

	serverCtx := context.Background() // the server's lifetime, not a request's
	cache, err := querycache.New(serverCtx, getPrompt, querycache.Options[string]{
		TTL:        5 * time.Second,
		NotFound:   func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
		MaxEntries: 65536,
	})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	for range 3 {
		p, _ := cache.Get(ctx, "alice")
		_, err := cache.Get(ctx, "bob")
		fmt.Printf("%q, bob not found: %v\n", p, errors.Is(err, sql.ErrNoRows))
	}
	fmt.Println("queries:", queries)

	prompts["alice"] = "Answer in French."
	cache.Invalidate("alice") // after the change commits
	p, _ := cache.Get(ctx, "alice")
	fmt.Printf("%q, queries: %d\n", p, queries)
	// Output:
	// "Answer briefly.", bob not found: true
	// "Answer briefly.", bob not found: true
	// "Answer briefly.", bob not found: true
	// queries: 2
	// "Answer in French.", queries: 3
}

// A Singleton caches a query without parameters. Clone gives every caller
// its own copy of the slice, so a caller that changes it changes nothing
// that other callers see.
func ExampleSingleton() {
	providers, err := querycache.NewSingleton(context.Background(),
		func(context.Context) ([]string, error) {
			return []string{"anthropic", "openai"}, nil
		},
		querycache.Options[[]string]{
			TTL:   10 * time.Second,
			Clone: func(s []string) []string { return append([]string(nil), s...) },
		})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	mine, _ := providers.Get(ctx)
	mine[0] = "changed by one caller"
	theirs, _ := providers.Get(ctx)
	fmt.Println(theirs)
	fmt.Println("fills:", providers.Stats().Fills)
	// Output:
	// [anthropic openai]
	// fills: 1
}
