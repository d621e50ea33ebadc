-- GetEnabledChatProviders returns the enabled providers ordered by name. It
-- is a hot read: every chat turn runs it.
-- name: GetEnabledChatProviders :many
SELECT * FROM chat_providers
WHERE enabled
ORDER BY provider;

-- GetChatModelConfigByID returns one model config, enabled or not. It is a
-- hot read, and returns sql.ErrNoRows when no config has the id.
-- name: GetChatModelConfigByID :one
SELECT * FROM chat_model_configs
WHERE id = @id;

-- GetDefaultChatModelConfig returns the default model config, enabled or
-- not. It is a hot read, and returns sql.ErrNoRows when no config is the
-- default.
-- name: GetDefaultChatModelConfig :one
SELECT * FROM chat_model_configs
WHERE is_default;

-- GetUserChatCustomPrompt returns a user's custom prompt. It is a hot read,
-- and returns sql.ErrNoRows for the many users without one.
-- name: GetUserChatCustomPrompt :one
SELECT * FROM user_chat_custom_prompts
WHERE user_id = @user_id;

-- InsertChatProvider inserts a provider and returns the stored row.
-- name: InsertChatProvider :one
INSERT INTO chat_providers (provider, display_name, api_key, enabled)
VALUES (@provider, @display_name, @api_key, @enabled)
RETURNING *;

-- UpdateChatProvider sets a provider's display name, API key and enabled
-- flag, and returns the stored row. It returns sql.ErrNoRows when no
-- provider has the id.
-- name: UpdateChatProvider :one
UPDATE chat_providers
SET display_name = @display_name,
    api_key = @api_key,
    enabled = @enabled,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- DeleteChatProvider deletes a provider and, through the foreign key, its
-- model configs. A missing id is not an error.
-- name: DeleteChatProvider :exec
DELETE FROM chat_providers
WHERE id = @id;

-- InsertChatModelConfig inserts a model config and returns the stored row.
-- Inserting with IsDefault true fails with an exclusion violation (SQLSTATE
-- 23P01) while another config is the default; SetDefaultChatModelConfig
-- moves the default instead. A nil Options is sent as SQL NULL and rejected.
-- name: InsertChatModelConfig :one
INSERT INTO chat_model_configs (provider, model, display_name, enabled, is_default, options)
VALUES (@provider, @model, @display_name, @enabled, @is_default, @options)
RETURNING *;

-- UpdateChatModelConfig sets every column of a model config except
-- is_default, which SetDefaultChatModelConfig and ClearDefaultChatModelConfig
-- change, and returns the stored row. It returns sql.ErrNoRows when no
-- config has the id.
-- name: UpdateChatModelConfig :one
UPDATE chat_model_configs
SET provider = @provider,
    model = @model,
    display_name = @display_name,
    enabled = @enabled,
    options = @options,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- DeleteChatModelConfig deletes a model config. A missing id is not an
-- error.
-- name: DeleteChatModelConfig :exec
DELETE FROM chat_model_configs
WHERE id = @id;

-- SetDefaultChatModelConfig makes the config with the id the only default,
-- in one statement that updates the old default and the new one and no
-- other row. When no config has the id, nothing changes, so a wrong id never
-- leaves the table without its default. Two concurrent calls with different
-- ids can each miss the row that the other sets. The second to commit then
-- fails with an exclusion violation (SQLSTATE 23P01) rather than leave two
-- defaults, and can be retried.
-- name: SetDefaultChatModelConfig :exec
UPDATE chat_model_configs AS config
SET is_default = (config.id = @id),
    updated_at = now()
WHERE config.is_default <> (config.id = @id)
  AND EXISTS (SELECT 1 FROM chat_model_configs AS target WHERE target.id = @id);

-- ClearDefaultChatModelConfig leaves no config as the default.
-- name: ClearDefaultChatModelConfig :exec
UPDATE chat_model_configs
SET is_default = false,
    updated_at = now()
WHERE is_default;

-- UpsertUserChatCustomPrompt sets a user's custom prompt, inserting the row
-- when the user has none, and returns the stored row.
-- name: UpsertUserChatCustomPrompt :one
INSERT INTO user_chat_custom_prompts (user_id, prompt)
VALUES (@user_id, @prompt)
ON CONFLICT (user_id) DO UPDATE
SET prompt = excluded.prompt,
    updated_at = now()
RETURNING *;

-- DeleteUserChatCustomPrompt deletes a user's custom prompt. A user without
-- one is not an error.
-- name: DeleteUserChatCustomPrompt :exec
DELETE FROM user_chat_custom_prompts
WHERE user_id = @user_id;

-- ListChatProviders returns every provider, enabled or not, ordered by name,
-- for admin pages.
-- name: ListChatProviders :many
SELECT * FROM chat_providers
ORDER BY provider;

-- GetChatProviderByID returns one provider, enabled or not. It returns
-- sql.ErrNoRows when no provider has the id.
-- name: GetChatProviderByID :one
SELECT * FROM chat_providers
WHERE id = @id;

-- ListChatModelConfigs returns every model config, enabled or not, ordered
-- by provider and model, for admin pages.
-- name: ListChatModelConfigs :many
SELECT * FROM chat_model_configs
ORDER BY provider, model, id;

-- InsertChat starts a chat and returns the stored row.
-- name: InsertChat :one
INSERT INTO chats (user_id, model_config_id, title)
VALUES (@user_id, @model_config_id, @title)
RETURNING *;

-- GetChatByID returns one chat. It returns sql.ErrNoRows when no chat has
-- the id.
-- name: GetChatByID :one
SELECT * FROM chats
WHERE id = @id;

-- InsertChatMessage appends a message to a chat and returns the stored row.
-- Every chat turn runs it.
-- name: InsertChatMessage :one
INSERT INTO chat_messages (chat_id, role, content)
VALUES (@chat_id, @role, @content)
RETURNING *;

-- ListChatMessages returns a chat's messages in the order they were
-- inserted.
-- name: ListChatMessages :many
SELECT * FROM chat_messages
WHERE chat_id = @chat_id
ORDER BY id;

-- CountChatMessages counts the messages of all chats, so that a load test
-- can check that every turn wrote its message.
-- name: CountChatMessages :one
SELECT count(*) FROM chat_messages;

-- NotifyInvalidation sends payload on channel with pg_notify. Inside a
-- transaction PostgreSQL delivers it when the transaction commits, and not
-- at all when it rolls back.
-- name: NotifyInvalidation :exec
SELECT pg_notify(@channel::text, @payload::text);
