-- Triggers that send storewrap's invalidation notifications for every change
-- to the three cached tables, made by any client: psql, a migration, another
-- service. Apply this file after schema.sql, with your migrations. It is
-- idempotent, so applying it again replaces the functions and triggers.
-- Requires PostgreSQL 11 or later (EXECUTE FUNCTION); tested on 15.
--
-- The payloads are those of storewrap's Invalidation.Payload:
--
--   chat_providers            v1:provider:<id>
--   chat_model_configs        v1:model_config:<id>
--   user_chat_custom_prompts  v1:user_prompt:<user_id>
--   TRUNCATE of any of them   v1:all
--
-- An UPDATE that changes a row's key sends one notification for the old key
-- and one for the new key. A key that is the nil UUID is sent as v1:all,
-- because a payload never names the nil UUID. A statement that changes many
-- rows sends one notification per row; PostgreSQL delivers each distinct
-- payload once per transaction, at commit, and none after a rollback.
--
-- The channel is hotread_invalidate unless the setting
-- hotread.notify_channel names another one, for example:
--
--   ALTER DATABASE app SET hotread.notify_channel = 'app_invalidate';
--
-- A setting changed this way applies to sessions that start afterwards.
-- Listeners and the decorator's own publishing must use the same channel.
-- With these triggers installed, turn the decorator's publishing off
-- (storewrap's DisablePublish option): otherwise every change made through
-- the decorator is sent twice.

-- hotread_notify_row_change sends one notification for each key of the row
-- that fired the trigger. TG_ARGV[0] is the payload kind and TG_ARGV[1] the
-- name of the key column. It calls only built-in functions, so that it works
-- whatever the session's search_path.
CREATE OR REPLACE FUNCTION hotread_notify_row_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    channel   text := coalesce(nullif(current_setting('hotread.notify_channel', true), ''),
                               'hotread_invalidate');
    kind      text := TG_ARGV[0];
    id_column text := TG_ARGV[1];
    ids       uuid[] := '{}';
    new_id    uuid;
    id        uuid;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        ids := ids || (to_jsonb(OLD) ->> id_column)::uuid;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        new_id := (to_jsonb(NEW) ->> id_column)::uuid;
        IF TG_OP = 'INSERT' OR new_id IS DISTINCT FROM ids[1] THEN
            ids := ids || new_id;
        END IF;
    END IF;
    FOREACH id IN ARRAY ids LOOP
        PERFORM pg_notify(channel, CASE
            WHEN id IS NULL OR id = '00000000-0000-0000-0000-000000000000' THEN 'v1:all'
            ELSE 'v1:' || kind || ':' || id::text
        END);
    END LOOP;
    RETURN NULL;
END
$$;

-- hotread_notify_truncate sends v1:all, because TRUNCATE fires no row
-- triggers and removes every row.
CREATE OR REPLACE FUNCTION hotread_notify_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(coalesce(nullif(current_setting('hotread.notify_channel', true), ''),
                               'hotread_invalidate'),
                      'v1:all');
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS hotread_invalidate ON chat_providers;
CREATE TRIGGER hotread_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON chat_providers
    FOR EACH ROW EXECUTE FUNCTION hotread_notify_row_change('provider', 'id');

DROP TRIGGER IF EXISTS hotread_invalidate_truncate ON chat_providers;
CREATE TRIGGER hotread_invalidate_truncate
    AFTER TRUNCATE ON chat_providers
    FOR EACH STATEMENT EXECUTE FUNCTION hotread_notify_truncate();

DROP TRIGGER IF EXISTS hotread_invalidate ON chat_model_configs;
CREATE TRIGGER hotread_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON chat_model_configs
    FOR EACH ROW EXECUTE FUNCTION hotread_notify_row_change('model_config', 'id');

DROP TRIGGER IF EXISTS hotread_invalidate_truncate ON chat_model_configs;
CREATE TRIGGER hotread_invalidate_truncate
    AFTER TRUNCATE ON chat_model_configs
    FOR EACH STATEMENT EXECUTE FUNCTION hotread_notify_truncate();

DROP TRIGGER IF EXISTS hotread_invalidate ON user_chat_custom_prompts;
CREATE TRIGGER hotread_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON user_chat_custom_prompts
    FOR EACH ROW EXECUTE FUNCTION hotread_notify_row_change('user_prompt', 'user_id');

DROP TRIGGER IF EXISTS hotread_invalidate_truncate ON user_chat_custom_prompts;
CREATE TRIGGER hotread_invalidate_truncate
    AFTER TRUNCATE ON user_chat_custom_prompts
    FOR EACH STATEMENT EXECUTE FUNCTION hotread_notify_truncate();
