-- Every statement Siar reads with: the CLI's read commands, the web desk, `siar status`,
-- /healthz and the daemon's watchdog run these and only these (scheduler.reads).
--
-- Written once for SQLite and PostgreSQL: `:name` parameters (a list parameter
-- `IN (:names)` expands to one placeholder per item, `NULL` for none); `{post p}` selects
-- every column of table `post` aliased `p`, as `post__<column>` (scheduler/reads/rows.py).
-- An optional filter is `(:every_x OR column = :x)` with a flag: PostgreSQL cannot tell
-- the type of a parameter in `:x IS NULL`. Times compare as stored: parameters are
-- converted for each database in one place (scheduler.reads.Reader).

-- name: schema_revision
-- The migration the database is at.
SELECT version_num FROM alembic_version

-- name: release
SELECT {release r} FROM release r WHERE r.id = :release_id

-- name: posts_of_release
SELECT {post p} FROM post p WHERE p.release_id = :release_id ORDER BY p.id

-- name: post_ids_in
-- The ids of a release's posts (of one account, if given) in some states.
SELECT p.id FROM post p
WHERE p.release_id = :release_id AND p.status IN (:statuses)
  AND (:every_account OR p.account = :account)
ORDER BY p.id

-- name: queue
-- `siar queue`: posts with their releases, those not done first, then by due time.
SELECT {post p}, {release r}
FROM post p JOIN release r ON r.id = p.release_id
WHERE p.status IN (:shown)
ORDER BY CASE WHEN p.status IN (:done) THEN 1 ELSE 0 END, p.due_at, p.id
LIMIT :limit

-- name: paused_accounts
SELECT s.account, s.paused_reason FROM accountstate s WHERE s.paused ORDER BY s.account

-- name: waiting_past
-- Waiting posts (of one account, or some posts) due before :late.
SELECT {post p} FROM post p
WHERE p.status IN (:waiting) AND p.due_at < :late
  AND (:every_account OR p.account = :account)
  AND (:every_post OR p.id IN (:post_ids))
ORDER BY p.id

-- name: attempts_of_posts
SELECT {attempt a} FROM attempt a WHERE a.post_id IN (:post_ids) ORDER BY a.id

-- name: history
-- `siar history`: the attempt log, newest first, with each attempt's post and release.
SELECT {attempt a}, {post p}, {release r}
FROM attempt a JOIN post p ON p.id = a.post_id JOIN release r ON r.id = p.release_id
WHERE (:from_start OR a.started_at >= :since)
  AND (:to_end OR a.started_at < :until)
  AND (:every_outcome OR a.outcome IN (:outcomes))
  AND (:every_account OR p.account IN (:accounts))
ORDER BY a.id DESC
LIMIT :limit

-- name: posts_in_doubt
-- Posts in `unknown`, oldest first: the probe job's work and `siar status`'s list.
SELECT {post p} FROM post p WHERE p.status = :unknown ORDER BY p.updated_at, p.id
LIMIT :limit

-- name: nodes
SELECT {node n} FROM node n ORDER BY n.name

-- name: depth
SELECT p.status, count(*) AS posts FROM post p GROUP BY p.status

-- name: account_states
SELECT {accountstate s} FROM accountstate s ORDER BY s.account

-- name: overdue
-- Claimable posts past their time whose account is free to publish: the oldest, and how
-- many there are.
SELECT p.id, p.release_id, p.account, p.not_before, count(*) OVER () AS overdue
FROM post p LEFT JOIN accountstate s ON s.account = p.account
WHERE p.status IN (:claimable) AND p.not_before <= :now
  AND (s.account IS NULL
       OR (NOT s.paused AND (s.rate_limited_until IS NULL OR s.rate_limited_until <= :now)))
ORDER BY p.not_before, p.id
LIMIT 1

-- name: undelivered_count
SELECT count(*) AS alerts FROM alert a
WHERE a.sent_at IS NULL AND a.last_error IS NOT NULL AND a.created_at >= :since

-- name: undelivered_alerts
-- Alerts a notify account did not take (not delivered yet), newest first.
SELECT {alert a} FROM alert a
WHERE a.sent_at IS NULL AND a.last_error IS NOT NULL AND a.created_at >= :since
ORDER BY a.created_at DESC, a.key
LIMIT :limit

-- name: recap_published
-- `siar report`: posts published in [:start, :end), at the end of their last attempt.
SELECT settled.finished AS published_at, p.release_id, r.title, p.network, p.account,
       p.remote_url
FROM (SELECT a.post_id, max(a.finished_at) AS finished FROM attempt a GROUP BY a.post_id)
     settled
JOIN post p ON p.id = settled.post_id JOIN release r ON r.id = p.release_id
WHERE p.status = :published AND settled.finished >= :start AND settled.finished < :end
ORDER BY settled.finished, p.id

-- name: recap_failed
-- `siar report`: posts due in [:start, :end) that did not go out.
SELECT p.due_at, p.release_id, r.title, p.network, p.account, p.status, p.last_error
FROM post p JOIN release r ON r.id = p.release_id
WHERE p.status NOT IN (:done) AND p.due_at >= :start AND p.due_at < :end
ORDER BY p.due_at, p.id

-- name: audit_entries
-- `siar audit` and the desk: the audit log, newest first (from :since; of one release).
SELECT {audit_log l} FROM audit_log l
WHERE (:from_start OR l.at >= :since)
  AND (:every_release OR l.release_id = :release_id)
ORDER BY l.id DESC
LIMIT :limit

-- name: calendar
-- The desk's calendar: posts due in [:since, :until) with their release's title.
SELECT p.release_id, r.title, p.account, p.status, p.due_at
FROM post p JOIN release r ON r.id = p.release_id
WHERE p.due_at >= :since AND p.due_at < :until
ORDER BY p.due_at, p.release_id, p.account
