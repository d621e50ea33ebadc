package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

// seedProviders are the providers that every run starts with. Two are
// disabled, so that GetEnabledChatProviders filters rows.
var seedProviders = []struct {
	name    string
	enabled bool
}{
	{"anthropic", true},
	{"google", true},
	{"mistral", false},
	{"ollama", false},
	{"openai", true},
}

// promptShare is the fraction of users that have a custom prompt.
const promptShare = 0.2

// dataset is the seeded content of the database: what the admin may change
// and what the chats refer to.
type dataset struct {
	providers []chatdb.ChatProvider
	configs   []chatdb.ChatModelConfig // configs[0] is the default
	users     []uuid.UUID
	prompts   map[uuid.UUID]string // the users that have a custom prompt
	chats     []chat
}

// chat is one conversation of the load. Its turns run one after another.
type chat struct {
	id            uuid.UUID
	userID        uuid.UUID
	modelConfigID uuid.UUID
	replica       int // index of the decorator the cached run uses
}

// seed inserts the providers, model configs, users' prompts and chats of
// cfg's shape through q, and returns them. The users and the assignment of
// users and configs to chats come from cfg.seed.
func seed(ctx context.Context, q chatdb.Querier, cfg *config) (*dataset, error) {
	rng := rand.New(rand.NewPCG(cfg.seed, 0x5ca1e7e57))
	ds := &dataset{prompts: make(map[uuid.UUID]string)}

	for _, p := range seedProviders {
		row, err := q.InsertChatProvider(ctx, chatdb.InsertChatProviderParams{
			Provider:    p.name,
			DisplayName: p.name + " v0",
			APIKey:      "key-" + p.name + "-v0",
			Enabled:     p.enabled,
		})
		if err != nil {
			return nil, fmt.Errorf("scaletest: seed: insert provider %s: %w", p.name, err)
		}
		ds.providers = append(ds.providers, row)
	}

	var enabled []string
	for _, p := range seedProviders {
		if p.enabled {
			enabled = append(enabled, p.name)
		}
	}
	for i := range cfg.models {
		row, err := q.InsertChatModelConfig(ctx, chatdb.InsertChatModelConfigParams{
			Provider:    enabled[i%len(enabled)],
			Model:       "model-" + strconv.Itoa(i),
			DisplayName: "Model " + strconv.Itoa(i) + " v0",
			Enabled:     true,
			IsDefault:   i == 0,
			Options:     seedOptions(i),
		})
		if err != nil {
			return nil, fmt.Errorf("scaletest: seed: insert model config %d: %w", i, err)
		}
		ds.configs = append(ds.configs, row)
	}

	for i := range cfg.users {
		user := randomUUID(rng)
		ds.users = append(ds.users, user)
		if rng.Float64() >= promptShare {
			continue
		}
		prompt := "Answer as user " + strconv.Itoa(i) + " prefers. v0"
		if _, err := q.UpsertUserChatCustomPrompt(ctx, chatdb.UpsertUserChatCustomPromptParams{
			UserID: user,
			Prompt: prompt,
		}); err != nil {
			return nil, fmt.Errorf("scaletest: seed: insert prompt of user %s: %w", user, err)
		}
		ds.prompts[user] = prompt
	}

	ds.chats = make([]chat, cfg.chats)
	for i := range ds.chats {
		ds.chats[i] = chat{
			userID:        ds.users[rng.IntN(len(ds.users))],
			modelConfigID: ds.configs[rng.IntN(len(ds.configs))].ID,
			replica:       i % cfg.replicas,
		}
	}
	if err := insertChats(ctx, q, ds.chats, cfg.concurrency); err != nil {
		return nil, err
	}
	return ds, nil
}

// seedOptions returns the options of the i-th model config: JSON null for
// every fourth, so that both forms of the jsonb column are read.
func seedOptions(i int) json.RawMessage {
	if i%4 == 3 {
		return json.RawMessage("null")
	}
	return json.RawMessage(`{"temperature": 0.7, "max_tokens": ` + strconv.Itoa(1024*(i+1)) + `}`)
}

// randomUUID returns a version 4 UUID drawn from rng, so that a seed gives
// the same users every time.
func randomUUID(rng *rand.Rand) uuid.UUID {
	var u uuid.UUID
	for i := 0; i < len(u); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			u[i+j] = byte(v >> (8 * j))
		}
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

// insertChats inserts chats with up to workers concurrent queries and
// stores each chat's id.
func insertChats(ctx context.Context, q chatdb.Querier, chats []chat, workers int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				row, err := q.InsertChat(ctx, chatdb.InsertChatParams{
					UserID:        chats[i].userID,
					ModelConfigID: chats[i].modelConfigID,
					Title:         sql.NullString{String: "chat " + strconv.Itoa(i), Valid: true},
				})
				if err != nil {
					cancel(fmt.Errorf("scaletest: seed: insert chat %d: %w", i, err))
					continue
				}
				chats[i].id = row.ID
			}
		})
	}

feed:
	for i := range chats {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
