package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hotread/hotread/chatdb"
)

// turnFunc runs turn number turn of chat c.
type turnFunc func(ctx context.Context, c *chat, turn int) error

// loadResult is the outcome of one run of the load.
type loadResult struct {
	elapsed   time.Duration
	latencies []time.Duration // one per turn, sorted
}

// turnsPerSecond returns the run's throughput.
func (r *loadResult) turnsPerSecond() float64 {
	return float64(len(r.latencies)) / r.elapsed.Seconds()
}

// percentile returns the nearest-rank percentile p, in (0, 1], of the turn
// latencies.
func (r *loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(r.latencies))))
	return r.latencies[max(rank, 1)-1]
}

// runLoad runs every turn of every chat with turn: one goroutine per chat
// runs its turns in order, and at most cfg.concurrency turns are in flight.
// A turn's latency is measured from the moment it gets a slot. The first
// failed turn cancels the others, and runLoad returns its error.
func runLoad(
	ctx context.Context,
	cfg *config,
	chats []chat,
	turn turnFunc,
	progress *progress,
) (*loadResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	latencies := make([]time.Duration, len(chats)*cfg.turns)
	slots := make(chan struct{}, cfg.concurrency)
	var wg sync.WaitGroup

	start := time.Now()
	for i := range chats {
		wg.Go(func() {
			for t := range cfg.turns {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}

				began := time.Now()
				err := turn(ctx, &chats[i], t)
				latencies[i*cfg.turns+t] = time.Since(began)
				<-slots

				if err != nil {
					cancel(fmt.Errorf("chat %d turn %d: %w", i, t, err))
					return
				}
				progress.add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	slices.Sort(latencies)
	return &loadResult{elapsed: elapsed, latencies: latencies}, nil
}

// messageContent returns the text of the message that a turn inserts.
func messageContent(turn int) string {
	return "message of turn " + strconv.Itoa(turn)
}

// insertMessage inserts the message of turn into c.
func insertMessage(ctx context.Context, q chatdb.Querier, c *chat, turn int) error {
	_, err := q.InsertChatMessage(ctx, chatdb.InsertChatMessageParams{
		ChatID:  c.id,
		Role:    "user",
		Content: messageContent(turn),
	})
	if err != nil {
		return fmt.Errorf("InsertChatMessage: %w", err)
	}
	return nil
}

// readTurn returns a turnFunc that makes the four hot reads through the
// Querier of the chat's replica, then inserts the turn's message. When
// checker is not nil, each read's result is checked for staleness.
func readTurn(replicas []chatdb.Querier, checker *coherenceChecker) turnFunc {
	return func(ctx context.Context, c *chat, turn int) error {
		q := replicas[c.replica]

		began := checker.now()
		providers, err := q.GetEnabledChatProviders(ctx)
		if err != nil {
			return fmt.Errorf("GetEnabledChatProviders: %w", err)
		}
		if err := checker.checkProviders(providers, began); err != nil {
			return err
		}

		began = checker.now()
		config, err := q.GetChatModelConfigByID(ctx, c.modelConfigID)
		if err != nil {
			return fmt.Errorf("GetChatModelConfigByID %s: %w", c.modelConfigID, err)
		}
		if err := checker.checkModelConfig(c.modelConfigID, &config, began); err != nil {
			return err
		}

		began = checker.now()
		defaultConfig, err := q.GetDefaultChatModelConfig(ctx)
		if err != nil {
			return fmt.Errorf("GetDefaultChatModelConfig: %w", err)
		}
		if err := checker.checkDefaultModelConfig(&defaultConfig, began); err != nil {
			return err
		}

		began = checker.now()
		prompt, err := q.GetUserChatCustomPrompt(ctx, c.userID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = checker.checkUserPrompt(c.userID, nil, began)
		case err != nil:
			return fmt.Errorf("GetUserChatCustomPrompt %s: %w", c.userID, err)
		default:
			err = checker.checkUserPrompt(c.userID, &prompt, began)
		}
		if err != nil {
			return err
		}

		return insertMessage(ctx, q, c, turn)
	}
}

// writeTurn returns a turnFunc that only inserts the turn's message: the
// work of a turn whose reads cost nothing.
func writeTurn(q chatdb.Querier) turnFunc {
	return func(ctx context.Context, c *chat, turn int) error {
		return insertMessage(ctx, q, c, turn)
	}
}
