package hotread

import _ "embed" // for go:embed

// Triggers is the content of triggers.sql: PostgreSQL trigger functions and
// triggers on chat_providers, chat_model_configs and
// user_chat_custom_prompts that send storewrap's invalidation payloads with
// pg_notify for every INSERT, UPDATE, DELETE and TRUNCATE, made by any
// client: psql, a migration or another service. Apply it after
// [Schema], with your migrations, when changes reach those tables without
// going through storewrap. It is idempotent, so applying it again replaces
// the functions and triggers.
//
// The triggers send on the channel hotread_invalidate unless the setting
// hotread.notify_channel names another one (for example with ALTER
// DATABASE app SET hotread.notify_channel = 'app_invalidate'); it must
// match storewrap's Options.Channel. Once the triggers are installed, set
// storewrap's Options.DisablePublish, so that a change made through the
// decorator is not announced twice.
//
// Triggers is a variable only because go:embed requires one. Do not modify
// it.
//
//go:embed triggers.sql
var Triggers string
