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

-- hwlab_search is english (stemming, english stop words) with unaccent in
-- front of every dictionary that sees words. Folding inside the
-- configuration, instead of unaccent() on the text, keeps the words of the
-- text as written, so ts_headline can mark them in the original. unaccent()
-- is STABLE and so cannot appear in an index or a generated column;
-- to_tsvector(regconfig, text) is IMMUTABLE, which holds as long as nobody
-- alters this configuration or unaccent.rules (then: rebuild the column).
DO $$ BEGIN
  CREATE TEXT SEARCH CONFIGURATION public.hwlab_search (COPY = pg_catalog.english);
EXCEPTION WHEN unique_violation THEN NULL; -- a repeated run
END $$;
ALTER TEXT SEARCH CONFIGURATION public.hwlab_search
  ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH public.unaccent, english_stem;
ALTER TEXT SEARCH CONFIGURATION public.hwlab_search
  ALTER MAPPING FOR numword, numhword, hword_numpart WITH public.unaccent, simple;

-- hwlab_search_text makes / . _ : - separators, so that each part of a
-- path, host, version or CVE id is a word of its own (the parser would keep
-- /dev/nvme0n1 as one token). It maps one character to one, so offsets in
-- its result are offsets in the original text (the snippets rely on it).
CREATE OR REPLACE FUNCTION public.hwlab_search_text(t text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN translate(t, '/._:-', '     ');

-- hwlab_search_vector is the one definition of what is indexed: the first
-- 200000 characters. A tsvector holds at most 4 bytes of lexemes and
-- positions per character of text, so it stays under its 1 MiB limit
-- (SQLSTATE 54000) and every message up to the 4 MiB content limit stays
-- storable.
CREATE OR REPLACE FUNCTION public.hwlab_search_vector(t text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN to_tsvector('public.hwlab_search'::regconfig, public.hwlab_search_text(left(t, 200000)));

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
