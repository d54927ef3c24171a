-- Create "conversations" table
CREATE TABLE "conversations" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "started_at" timestamptz NOT NULL DEFAULT now(), "model" text NOT NULL DEFAULT '', PRIMARY KEY ("id"));
-- Create "messages" table
CREATE TABLE "messages" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "role" text NOT NULL, "content" text NOT NULL, "created_at" timestamptz NOT NULL DEFAULT now(), "conversation_id" uuid NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "messages_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations" ("id") ON UPDATE NO ACTION ON DELETE CASCADE, CONSTRAINT "messages_role_check" CHECK (role = ANY (ARRAY['user'::text, 'assistant'::text, 'system'::text])));
