package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/postgres"
	"github.com/orgauth/orgauth/sqlite"
)

// seedStore is what seeding needs of a storage backend; the sqlite and the
// postgres store both have it.
type seedStore interface {
	orgauth.Store
	Migrate(ctx context.Context) error
	BulkCreateUsers(ctx context.Context, tenantID string, users []*orgauth.User) error
}

var (
	_ seedStore = (*sqlite.DB)(nil)
	_ seedStore = (*postgres.DB)(nil)
)

// database is the database orgauth runs on in a benchmark: a SQLite file in
// the data directory, or a fresh schema of a PostgreSQL database.
type database interface {
	// name describes the database for the report, e.g. "sqlite" or
	// "postgresql 15.20".
	name() string
	// serverURL is the ORGAUTH_DATABASE_URL of orgauth; empty for the SQLite
	// file of the data directory.
	serverURL() string
	// open opens the store for seeding.
	open(ctx context.Context) (seedStore, error)
	// size returns the bytes the database takes after seeding (tables,
	// indexes, WAL).
	size(ctx context.Context) (int64, error)
	// afterSeed runs once seeding is done, before orgauth starts.
	afterSeed(ctx context.Context) error
	// counters reads the database's cumulative write counters; ok is false
	// when the database has none.
	counters(ctx context.Context) (c dbCounters, ok bool, err error)
	// cpuTicks returns the CPU time (clock ticks) of the database server's
	// processes on this machine; ok is false when it runs in orgauth or
	// elsewhere.
	cpuTicks() (ticks int64, ok bool)
	// close releases the database; unless keep, it drops what the run created.
	close(keep bool) error
}

// dbCounters are cumulative counters of the whole database cluster, read at
// the edges of each measured window.
type dbCounters struct {
	// nextXID is the xmax of a fresh snapshot: one past the newest completed
	// transaction id. PostgreSQL assigns an id only to a transaction that
	// writes, so its increase counts write transactions (of every database of
	// the cluster, autovacuum's ANALYZE included).
	nextXID int64
	// walBytes is the WAL insert position.
	walBytes int64
}

// sqliteDB is the SQLite file of orgauth's data directory.
type sqliteDB struct{ path string }

func (s *sqliteDB) name() string      { return "sqlite" }
func (s *sqliteDB) serverURL() string { return "" }

func (s *sqliteDB) open(ctx context.Context) (seedStore, error) { return sqlite.Open(ctx, s.path) }

func (s *sqliteDB) size(context.Context) (int64, error) {
	var n int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(s.path + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n, nil
}

func (s *sqliteDB) afterSeed(context.Context) error { return nil }

func (s *sqliteDB) counters(context.Context) (dbCounters, bool, error) {
	return dbCounters{}, false, nil
}

func (s *sqliteDB) cpuTicks() (int64, bool) { return 0, false } // inside orgauth

func (s *sqliteDB) close(bool) error { return nil } // the temporary directory goes

// postgresDB is a schema of its own in a PostgreSQL database, created for the
// run and dropped at its end.
type postgresDB struct {
	baseURL string // the -database-url
	schema  string
	version string
	mu      sync.Mutex
	conn    *pgx.Conn // the bench's own connection: schema, sizes, counters
	// postmaster is the pid of the PostgreSQL server when it runs on this
	// machine (and is visible in /proc), else 0.
	postmaster int
}

// newPostgresDB connects to the database at baseURL and creates a fresh schema
// orgauth_bench_<random> in it.
func newPostgresDB(ctx context.Context, baseURL string) (*postgresDB, error) {
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		return nil, fmt.Errorf("-database-url: %w", err)
	}
	var b [6]byte
	rand.Read(b[:])
	p := &postgresDB{baseURL: baseURL, schema: "orgauth_bench_" + hex.EncodeToString(b[:]), conn: conn}
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&p.version); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{p.schema}.Sanitize()); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("create schema: %w", err)
	}
	// The parent of this connection's backend is the postmaster, when the
	// backend is a process of this machine.
	var backend int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err == nil {
		if st, err := readStat(backend); err == nil && len(st) > 1 && strings.HasPrefix(st[0], "postgres") {
			p.postmaster, _ = strconv.Atoi(st[1])
		}
	}
	return p, nil
}

// readStat returns the command name of /proc/<pid>/stat (without its
// parentheses), then the fields after the state: [1] is the parent's pid.
func readStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return nil, errors.New("malformed stat")
	}
	f := strings.Fields(s[end+1:])
	if len(f) > 1 {
		f = f[1:] // the state
	}
	return append([]string{s[open+1 : end]}, f...), nil
}

// cpuTicks sums the CPU time of the postmaster and its children: backends,
// autovacuum, WAL writer, checkpointer. Other databases of the cluster count
// too, and the time of backends that exited between two readings is lost.
func (p *postgresDB) cpuTicks() (int64, bool) {
	if p.postmaster == 0 {
		return 0, false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	var ticks int64
	parent := strconv.Itoa(p.postmaster)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pid != p.postmaster {
			st, err := readStat(pid)
			if err != nil || len(st) < 2 || st[1] != parent {
				continue
			}
		}
		ticks += sampleProc(pid).ticks
	}
	return ticks, true
}

func (p *postgresDB) name() string {
	v, _, _ := strings.Cut(p.version, " ")
	return "postgresql " + v
}

// serverURL is the base URL with search_path set to the run's schema, which
// pgx sends as a run-time parameter when it connects.
func (p *postgresDB) serverURL() string {
	u, err := url.Parse(p.baseURL)
	if err != nil { // newPostgresDB connected with it: cannot happen
		panic(err)
	}
	q := u.Query()
	q.Set("search_path", p.schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func (p *postgresDB) open(ctx context.Context) (seedStore, error) {
	return postgres.Open(ctx, p.serverURL())
}

func (p *postgresDB) size(ctx context.Context) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int64
	err := p.conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = $1 AND c.relkind IN ('r', 'm')`, p.schema).Scan(&n)
	return n, err
}

// afterSeed vacuums and analyzes the seeded tables, as autovacuum would have
// long since done on a database in service: the planner gets statistics and
// the first reads of the copied rows do not each set hint bits.
func (p *postgresDB) afterSeed(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	rows, err := p.conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1`, p.schema)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := p.conn.Exec(ctx, `VACUUM (ANALYZE) `+pgx.Identifier{p.schema, t}.Sanitize()); err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	return nil
}

func (p *postgresDB) counters(ctx context.Context) (dbCounters, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var c dbCounters
	// Neither function gives the bench's own transaction an id.
	err := p.conn.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
		pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint`).Scan(&c.nextXID, &c.walBytes)
	return c, err == nil, err
}

func (p *postgresDB) close(keep bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	defer p.conn.Close(ctx)
	if keep {
		logf("keeping schema %s", p.schema)
		return nil
	}
	_, err := p.conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{p.schema}.Sanitize()+` CASCADE`)
	return err
}

// isPostgresURL reports whether u selects PostgreSQL, as orgauth serve decides.
func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// roundTripsVar is the expvar of the postgres store counting the statements
// orgauth sent to PostgreSQL.
const roundTripsVar = "orgauth_postgres_round_trips"

// debugVars reads orgauth's expvar counters from its debug listener.
type debugVars struct {
	url string
	hc  *http.Client
}

func newDebugVars(addr string) *debugVars {
	return &debugVars{url: "http://" + addr + "/debug/vars", hc: &http.Client{Timeout: 5 * time.Second}}
}

// roundTrips returns the value of orgauth_postgres_round_trips.
func (v *debugVars) roundTrips(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := v.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: HTTP %d", v.url, resp.StatusCode)
	}
	var vars map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return 0, fmt.Errorf("%s: %w", v.url, err)
	}
	raw, ok := vars[roundTripsVar]
	if !ok {
		return 0, fmt.Errorf("%s: no %s", v.url, roundTripsVar)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("%s: %s: %w", v.url, roundTripsVar, err)
	}
	return n, nil
}

// waitReady waits until the debug listener answers: orgauth starts it next to
// the main listener, not necessarily before /readyz answers.
func (v *debugVars) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.roundTrips(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("orgauth debug listener: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// windowProbe reads the server's counters at the edges of a measured window.
type windowProbe struct {
	vars     *debugVars
	db       database
	postgres bool // the round trips mean something: orgauth runs on PostgreSQL
}

// probeSample is what a windowProbe read at one moment.
type probeSample struct {
	roundTrips int64
	db         dbCounters
	dbTicks    int64
	ok, dbOK   bool
	ticksOK    bool
}

func (p *windowProbe) sample(ctx context.Context) probeSample {
	var s probeSample
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var err error
	s.roundTrips, err = p.vars.roundTrips(ctx)
	s.ok = err == nil
	s.db, s.dbOK, _ = p.db.counters(ctx)
	s.dbTicks, s.ticksOK = p.db.cpuTicks()
	return s
}
