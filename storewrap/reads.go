package storewrap

import (
	"context"

	"github.com/google/uuid"

	"github.com/hotread/hotread/chatdb"
)

// GetEnabledChatProviders returns the enabled providers from the cache, or
// from the wrapped Querier on a miss. The slice is the caller's own copy;
// an empty result is an empty slice, not nil, as the query returns it.
func (q *Querier) GetEnabledChatProviders(ctx context.Context) ([]chatdb.ChatProvider, error) {
	if c := q.s.providers; c != nil && q.useCache() {
		providers, err := c.Get(ctx)
		if err == nil || q.s.ctx.Err() == nil {
			return providers, err
		}
	}
	return q.next.GetEnabledChatProviders(ctx)
}

// GetChatModelConfigByID returns the model config with id from the cache,
// or from the wrapped Querier on a miss. A missing config returns
// sql.ErrNoRows, which is cached too unless
// [QueryOptions.DisableNotFoundCache] is set. The config's Options are the
// caller's own copy.
func (q *Querier) GetChatModelConfigByID(ctx context.Context, id uuid.UUID) (chatdb.ChatModelConfig, error) {
	if c := q.s.modelConfig; c != nil && q.useCache() {
		config, err := c.Get(ctx, id)
		if err == nil || q.s.ctx.Err() == nil {
			return config, err
		}
	}
	return q.next.GetChatModelConfigByID(ctx, id)
}

// GetDefaultChatModelConfig returns the default model config from the
// cache, or from the wrapped Querier on a miss. When no config is the
// default it returns sql.ErrNoRows, which is cached too unless
// [QueryOptions.DisableNotFoundCache] is set. The config's Options are the
// caller's own copy.
func (q *Querier) GetDefaultChatModelConfig(ctx context.Context) (chatdb.ChatModelConfig, error) {
	if c := q.s.defaultModelConfig; c != nil && q.useCache() {
		config, err := c.Get(ctx)
		if err == nil || q.s.ctx.Err() == nil {
			return config, err
		}
	}
	return q.next.GetDefaultChatModelConfig(ctx)
}

// GetUserChatCustomPrompt returns the custom prompt of the user with
// userID from the cache, or from the wrapped Querier on a miss. A user
// without one returns sql.ErrNoRows, which is cached too unless
// [QueryOptions.DisableNotFoundCache] is set.
func (q *Querier) GetUserChatCustomPrompt(
	ctx context.Context,
	userID uuid.UUID,
) (chatdb.UserChatCustomPrompt, error) {
	if c := q.s.userPrompt; c != nil && q.useCache() {
		prompt, err := c.Get(ctx, userID)
		if err == nil || q.s.ctx.Err() == nil {
			return prompt, err
		}
	}
	return q.next.GetUserChatCustomPrompt(ctx, userID)
}

// useCache reports whether a hot read may be served from a cache. It may
// not inside a transaction, whose own writes the cache does not hold, nor
// once the server context is done. A read that failed because the server
// context ended during its fill is sent to the wrapped Querier again by
// the caller of useCache.
func (q *Querier) useCache() bool {
	return q.tx == nil && q.s.ctx.Err() == nil && !q.bypassCache()
}
