-- Tables that a chat server reads on every turn, and the chats and messages
-- that each turn writes. Requires PostgreSQL 13 or later, which has
-- gen_random_uuid() built in; tested on 15. sqlc generates the chatdb
-- package from this file and queries.sql.

-- Model providers that an admin enables, disables or re-keys a few times a
-- day. Every chat turn reads the enabled ones.
CREATE TABLE chat_providers (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    provider     text        NOT NULL UNIQUE,
    display_name text        NOT NULL,
    api_key      text        NOT NULL DEFAULT '',
    enabled      boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Model configurations offered to users. Renaming a provider renames its
-- configs' provider column and deleting a provider deletes its configs, so a
-- change to chat_providers can change rows of this table.
--
-- options is NOT NULL because database/sql cannot scan SQL NULL into
-- json.RawMessage, the Go type the generated code uses for this column: Scan
-- fails with "unsupported Scan, storing driver.Value type <nil> into type
-- *json.RawMessage". The JSON value null is valid and is stored as 'null'.
-- In the other direction, lib/pq sends a nil json.RawMessage as SQL NULL,
-- which this column rejects; write json.RawMessage("{}") or
-- json.RawMessage("null") instead.
CREATE TABLE chat_model_configs (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    provider     text        NOT NULL
        REFERENCES chat_providers (provider) ON UPDATE CASCADE ON DELETE CASCADE,
    model        text        NOT NULL,
    display_name text        NOT NULL,
    enabled      boolean     NOT NULL DEFAULT true,
    is_default   boolean     NOT NULL DEFAULT false,
    options      jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),

    -- At most one row is the default. A partial unique index, or a
    -- constraint that is not deferrable, is checked row by row, so an UPDATE
    -- that sets the new default before it clears the old one fails halfway.
    -- A DEFERRABLE INITIALLY IMMEDIATE constraint is checked when the
    -- statement ends, so one UPDATE can move the default.
    CONSTRAINT chat_model_configs_one_default
        EXCLUDE (is_default WITH =) WHERE (is_default)
        DEFERRABLE INITIALLY IMMEDIATE
);

-- Serves ON UPDATE and ON DELETE CASCADE from chat_providers.
CREATE INDEX chat_model_configs_provider_idx ON chat_model_configs (provider);

-- A user's own system prompt. Most users have none, so a read usually finds
-- no row.
CREATE TABLE user_chat_custom_prompts (
    user_id    uuid        PRIMARY KEY,
    prompt     text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A conversation. model_config_id has no foreign key so that a chat keeps
-- its history when an admin deletes the config it used.
CREATE TABLE chats (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid        NOT NULL,
    model_config_id uuid        NOT NULL,
    title           text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX chats_user_id_idx ON chats (user_id);

-- One message of a chat. Every chat turn inserts at least one row.
CREATE TABLE chat_messages (
    id         bigserial   PRIMARY KEY,
    chat_id    uuid        NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    role       text        NOT NULL,
    content    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Lists a chat's messages in order and serves ON DELETE CASCADE from chats.
CREATE INDEX chat_messages_chat_id_id_idx ON chat_messages (chat_id, id);
