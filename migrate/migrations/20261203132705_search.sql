-- atlas:txmode none

-- Full-text search (issue 13; internal/store/search.go states the matching
-- rule). The file runs outside a transaction, one statement at a time, so
-- that the indexes are built CONCURRENTLY: only the ADD COLUMN holds an
-- exclusive lock on messages (it rewrites the table to fill the column).
-- Every statement is idempotent, so a run that broke half-way can be
-- repeated. What ent cannot express is registered in
-- migrate/entdiff/handwritten_search.go.

-- unaccent folds accents (größe, Grösse and GRÖSSE all become grosse). It is
-- a trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;

-- hwlab_search_text is the one normalisation of documents and queries:
-- accents folded, and / . _ : - made separators, so that each part of a
-- path, host, version or CVE id is a word of its own. unaccent() is STABLE
-- (its dictionary could change), which an index or a generated column does
-- not accept; naming the dictionary and pinning the function makes the
-- wrapper honestly IMMUTABLE as long as unaccent.rules is not edited.
CREATE OR REPLACE FUNCTION hwlab_search_text(t text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN translate(public.unaccent('public.unaccent'::regdictionary, t), '/._:-', '     ');

-- hwlab_search_vector indexes the first 200000 characters: at most 4 bytes
-- of lexemes and positions per character, so the tsvector stays under its
-- 1 MiB limit (SQLSTATE 54000) and every legal message stays storable.
CREATE OR REPLACE FUNCTION hwlab_search_vector(t text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN to_tsvector('english'::regconfig, left(hwlab_search_text(left(t, 200000)), 200000));

-- The stored vector: computed once per write of content, which for a reply
-- is once, when it ends (FinishReply or the sweep); flushes write
-- message_chunks only.
ALTER TABLE "messages" ADD COLUMN IF NOT EXISTS "search_vector" tsvector
  GENERATED ALWAYS AS (hwlab_search_vector(content)) STORED;

CREATE INDEX CONCURRENTLY IF NOT EXISTS "messages_search_vector_idx" ON "messages" USING gin ("search_vector");

-- Titles are short and rewritten rarely: an expression index, no column.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "conversations_title_search_idx" ON "conversations" USING gin (hwlab_search_vector(title));

-- Create index "messages_created_at_id_idx" to table: "messages"
CREATE INDEX CONCURRENTLY IF NOT EXISTS "messages_created_at_id_idx" ON "messages" ("created_at" DESC, "id" DESC);
