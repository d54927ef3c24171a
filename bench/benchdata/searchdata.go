package benchdata

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// SearchSpec is the search benchmarks' data set: Messages messages of
// realistic text in conversations of PerConversation messages. Messages is
// a multiple of PerConversation. The text is generated in the database,
// deterministically: words drawn from Vocabulary with a Zipf-like
// distribution (rank r with probability about 1/r: r = ⌊V^u⌋), about one
// word in eight a technical token (a device, address, path, version, CVE
// id, flag or hex value), and the planted terms below.
type SearchSpec struct {
	Messages, PerConversation int
}

// The planted terms, none of them in Vocabulary, each planted as a group of
// three words in the same messages, so one-, two- and three-word queries of
// a group have the same selectivity: RareTerms in message RareMessage only,
// MilliTerms in one message in 1000, DeciTerms in one in 10.
var (
	RareTerms  = [3]string{"quokka", "habitat", "survey"}
	MilliTerms = [3]string{"zeolite", "sorbent", "cartridge"}
	DeciTerms  = [3]string{"mirror", "resync", "bitmap"}
)

// RareMessage is the number (1-based, in creation order) of the one message
// holding RareTerms: the middle of the data set, so neither the newest nor
// the oldest.
func (s SearchSpec) RareMessage() int { return s.Messages/2 + 1 }

// Vocabulary is the text's words, most frequent first.
var Vocabulary = strings.Fields(`
the to and a of is in it you that for on this with be not are have can
your if as or do at but will so what an all from was by there my we check
disk pool zfs drive server run log error should use file then would set
system just one like data backup need config only network time up out
when which also see about more it's i'm get than any new first now how
boot kernel root update service storage port memory cpu temperature fan
power supply switch router vlan firewall dns dhcp ssh key user group home
share nfs smb samba snapshot dataset scrub replace resilver degraded
online offline fault checksum read write speed cache ssd hdd nvme sata raid
container docker compose image volume proxmox vm guest host bridge
interface address gateway subnet mask route ping trace packet loss latency
bandwidth cable port link speed duplex fiber copper rack shelf ups battery
runtime load shutdown reboot restart start stop enable disable status
journal unit timer cron script shell bash path permission owner mode chmod
chown mount unmount fstab partition table label uuid format filesystem
ext4 xfs btrfs lvm encryption luks passphrase certificate tls https web
browser dashboard grafana prometheus metric alert threshold notification
email mail smtp relay queue spam filter rule policy access deny allow
client request response timeout retry cluster node quorum replica primary
standby failover lag sync async commit transaction lock query index vacuum
analyze plan statement connection pool pgbouncer postgres database schema
migration version upgrade downgrade package repository install remove
patch release stable testing unstable security advisory vulnerability
exploit mitigation firmware bios uefi secure serial console ipmi bmc idrac
sensor voltage current watt efficiency idle peak average minimum maximum
size capacity free used percent quota reservation compression dedup ratio
block record sector alignment ashift trim discard wear endurance smart
attribute reallocated pending uncorrectable error rate hours warranty
vendor model number firmware revision price order shipping week month day
hour minute second today yesterday tomorrow morning evening night weekend
please thanks sure okay yes no maybe probably likely unlikely good bad
better worse best worst fast slow quick careful safe risky easy hard
simple complex small large tiny huge old new recent previous next last
`)

// etcFiles and flags feed the technical tokens.
var (
	etcFiles = []string{"fstab", "hosts", "resolv.conf", "exports", "crontab", "sysctl.conf", "pg_hba.conf", "smb.conf", "ssh/sshd_config", "zfs/zed.rc"}
	flags    = []string{"force", "verbose", "dry-run", "recursive", "all", "quiet", "yes", "no-pager", "help", "follow"}
)

// LoadSearch inserts spec's conversations and messages into conn's database,
// which must hold the migrated schema and no rows. The messages' indexes
// are dropped for the load and built again after it, which is several
// times faster than maintaining a GIN index row by row; it ends with VACUUM
// ANALYZE, so the planner has the text's statistics.
func LoadSearch(ctx context.Context, conn *pgx.Conn, spec SearchSpec, progress func(done, total int64)) error {
	if spec.PerConversation < 1 || spec.Messages%spec.PerConversation != 0 {
		return fmt.Errorf("benchdata: %d messages do not make conversations of %d", spec.Messages, spec.PerConversation)
	}
	convs := spec.Messages / spec.PerConversation
	// jit off: the generator's estimates are far too high, and compiling
	// costs more than it saves.
	if _, err := conn.Exec(ctx, `SET maintenance_work_mem = '256MB'; SET jit = off`); err != nil {
		return fmt.Errorf("benchdata: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT ARRAY[indexrelid::regclass::text, pg_get_indexdef(indexrelid)] FROM pg_index
		WHERE indrelid = 'messages'::regclass AND NOT indisprimary AND NOT indisunique`)
	if err != nil {
		return fmt.Errorf("benchdata: %w", err)
	}
	indexes, err := pgx.CollectRows(rows, pgx.RowTo[[]string])
	if err != nil {
		return fmt.Errorf("benchdata: %w", err)
	}
	for _, ix := range indexes {
		if _, err := conn.Exec(ctx, "DROP INDEX "+ix[0]); err != nil {
			return fmt.Errorf("benchdata: %w", err)
		}
	}
	// Conversation c's messages are created a minute apart, c's first one
	// hour after c-1's: creation order is message number order.
	// Every thread is a chain (the message tree): its last message is the
	// active leaf, each message's parent the one before it.
	if _, err := conn.Exec(ctx, `INSERT INTO conversations (id, started_at, model, title, message_count, active_seq)
SELECT md5('hwlab-search-conv-' || c)::uuid, $1::timestamptz - make_interval(hours => $2::int - c),
       'model-' || (c % 5), 'Thread ' || c, $3::int, $3::int
FROM generate_series(1, $2::int) AS c`, Epoch, convs, spec.PerConversation); err != nil {
		return fmt.Errorf("benchdata: search conversations: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE search_vocab AS
SELECT rank::int, word FROM unnest($1::text[]) WITH ORDINALITY AS v(word, rank)`, Vocabulary); err != nil {
		return fmt.Errorf("benchdata: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS search_vocab`)
	perChunk := max(1, chunk/spec.PerConversation)
	for lo := 1; lo <= convs; lo += perChunk {
		hi := min(convs, lo+perChunk-1)
		if _, err := conn.Exec(ctx, searchMessagesSQL, lo, hi, spec.PerConversation, Epoch, convs,
			len(Vocabulary), etcFiles, flags, spec.RareMessage(),
			strings.Join(RareTerms[:], " "), strings.Join(MilliTerms[:], " "), strings.Join(DeciTerms[:], " ")); err != nil {
			return fmt.Errorf("benchdata: search messages: %w", err)
		}
		if progress != nil {
			progress(int64(hi*spec.PerConversation), int64(spec.Messages))
		}
	}
	for _, ix := range indexes {
		if _, err := conn.Exec(ctx, ix[1]); err != nil {
			return fmt.Errorf("benchdata: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE conversations, messages"); err != nil {
		return fmt.Errorf("benchdata: vacuum: %w", err)
	}
	return nil
}

// searchMessagesSQL writes the messages of conversations $1..$2. Message n
// has 20 to 60 words; word k is drawn with u = hashint8(n·100+k) mapped to
// [0, 1) in float8 (numeric would take most of the time): a technical token when u < 1/8, else the vocabulary's word of
// rank ⌊V^u'⌋, found by a hash join with the temporary table search_vocab
// (subscripting a text[] walks it from the start, every time). The planted
// groups go at the end of their messages.
const searchMessagesSQL = `
WITH words AS (
	SELECT n, k, h, u FROM generate_series(($1::int - 1) * $3::int + 1, $2::int * $3::int) AS n
	CROSS JOIN LATERAL generate_series(1, 20 + n % 41) AS k
	CROSS JOIN LATERAL (SELECT abs(hashint8(n::bigint * 100 + k)::bigint) AS h) AS hh
	CROSS JOIN LATERAL (SELECT (h % 1000003)::float8 / 1000003 AS u) AS uu
), texts AS (
	SELECT w.n, string_agg(CASE
		WHEN w.u < 0.125 THEN CASE w.h % 9
			WHEN 0 THEN 'nvme' || (w.h / 9 % 8) || 'n1'
			WHEN 1 THEN 'sd' || chr(97 + (w.h / 9 % 26)::int) || (1 + w.h / 9 / 26 % 4)
			WHEN 2 THEN '192.168.' || (w.h / 9 % 256) || '.' || (1 + w.h / 9 / 256 % 254)
			WHEN 3 THEN '/etc/' || ($7::text[])[1 + (w.h / 9 % cardinality($7::text[]))::int]
			WHEN 4 THEN 'zfs-2.' || (w.h / 9 % 4) || '.' || (w.h / 9 / 4 % 10)
			WHEN 5 THEN 'CVE-20' || (19 + w.h / 9 % 7) || '-' || (1000 + w.h / 9 / 7 % 9000)
			WHEN 6 THEN '0x' || to_hex((w.h / 9 % 256)::int)
			WHEN 7 THEN '--' || ($8::text[])[1 + (w.h / 9 % cardinality($8::text[]))::int]
			ELSE '/dev/disk/by-id/ata-' || (w.h / 9 % 100000)
			END
		ELSE v.word
		END, ' ' ORDER BY w.k) AS text
	FROM words w
	LEFT JOIN search_vocab v ON w.u >= 0.125
		AND v.rank = floor(power($6::float8, (w.u - 0.125) / 0.875))::int
	GROUP BY w.n
)
INSERT INTO messages (id, conversation_id, seq, parent_seq, role, content, created_at)
SELECT ('d' || lpad(to_hex(c), 19, '0') || lpad(to_hex(j), 12, '0'))::uuid,
       md5('hwlab-search-conv-' || c)::uuid, j, nullif(j - 1, 0),
       CASE WHEN j % 2 = 1 THEN 'user' ELSE 'assistant' END,
       t.text || CASE WHEN t.n = $9::int THEN ' ' || $10::text ELSE '' END
              || CASE WHEN t.n % 1000 = 7 THEN ' ' || $11::text ELSE '' END
              || CASE WHEN t.n % 10 = 3 THEN ' ' || $12::text ELSE '' END,
       $4::timestamptz - make_interval(hours => $5::int - c) + make_interval(mins => j)
FROM texts t
CROSS JOIN LATERAL (SELECT (t.n - 1) / $3::int + 1 AS c, (t.n - 1) % $3::int + 1 AS j) AS cj
ORDER BY t.n`
