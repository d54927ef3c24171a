-- conversations.forked: the conversation has a branch, a message other than
-- the first whose parent is not the message before it (ent/schema). The
-- column comes with a constant default, so adding it rewrites nothing.
ALTER TABLE "conversations" ADD COLUMN "forked" boolean NOT NULL DEFAULT false;

-- Backfill from the branch starts, the rows the partial index
-- messages_branch_starts_idx holds (a conversation's first message is one
-- too, and does not count).
UPDATE "conversations" c SET "forked" = true
WHERE EXISTS (
  SELECT 1 FROM "messages" m
  WHERE m.conversation_id = c.id AND m.parent_seq IS DISTINCT FROM m.seq - 1 AND m.seq > 1
);
