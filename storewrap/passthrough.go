package storewrap

import (
	"context"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

// The methods in this file forward to the wrapped Querier, or to the one
// bound to the transaction, and return its results unchanged. Their rules
// in classify.go mark them as pass-throughs: they neither read a cached
// result nor write a table that a cached read reads.

// CountChatMessages forwards to the wrapped Querier.
func (q *Querier) CountChatMessages(ctx context.Context) (int64, error) {
	return q.next.CountChatMessages(ctx)
}

// GetChatByID forwards to the wrapped Querier.
func (q *Querier) GetChatByID(ctx context.Context, id uuid.UUID) (chatdb.Chat, error) {
	return q.next.GetChatByID(ctx, id)
}

// GetChatProviderByID forwards to the wrapped Querier. It is not cached:
// admin pages use it and expect the current row.
func (q *Querier) GetChatProviderByID(ctx context.Context, id uuid.UUID) (chatdb.ChatProvider, error) {
	return q.next.GetChatProviderByID(ctx, id)
}

// InsertChat forwards to the wrapped Querier.
func (q *Querier) InsertChat(ctx context.Context, arg chatdb.InsertChatParams) (chatdb.Chat, error) {
	return q.next.InsertChat(ctx, arg)
}

// InsertChatMessage forwards to the wrapped Querier.
func (q *Querier) InsertChatMessage(
	ctx context.Context,
	arg chatdb.InsertChatMessageParams,
) (chatdb.ChatMessage, error) {
	return q.next.InsertChatMessage(ctx, arg)
}

// ListChatMessages forwards to the wrapped Querier.
func (q *Querier) ListChatMessages(ctx context.Context, chatID uuid.UUID) ([]chatdb.ChatMessage, error) {
	return q.next.ListChatMessages(ctx, chatID)
}

// ListChatModelConfigs forwards to the wrapped Querier. It is not cached:
// admin pages use it and expect the current rows.
func (q *Querier) ListChatModelConfigs(ctx context.Context) ([]chatdb.ChatModelConfig, error) {
	return q.next.ListChatModelConfigs(ctx)
}

// ListChatProviders forwards to the wrapped Querier. It is not cached:
// admin pages use it and expect the current rows.
func (q *Querier) ListChatProviders(ctx context.Context) ([]chatdb.ChatProvider, error) {
	return q.next.ListChatProviders(ctx)
}

// NotifyInvalidation forwards to the wrapped Querier. It invalidates
// nothing here; a listener applies the invalidation that the payload
// describes when the notification arrives.
func (q *Querier) NotifyInvalidation(ctx context.Context, arg chatdb.NotifyInvalidationParams) error {
	return q.next.NotifyInvalidation(ctx, arg)
}
