// Package sqlite implements orgauth.Store on an SQLite database file, with the
// pure-Go driver modernc.org/sqlite.
//
// A DB holds two connection pools on the same file: a pool of read-only
// connections for reads, and a single connection for writes, whose transactions
// start with BEGIN IMMEDIATE. Writers therefore queue inside the process instead
// of failing with SQLITE_BUSY, and readers never wait for them (WAL mode).
//
// Open does not create or upgrade the schema: call Migrate (or use OpenAndMigrate).
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orgauth/orgauth"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is an orgauth.Store on an SQLite database.
type DB struct {
	queries
	read  *sql.DB // read-only connections
	write *sql.DB // the one connection that writes

	readStmts, writeStmts *stmts
}

var _ orgauth.Store = (*DB)(nil)

// pragmas are set on every connection of both pools.
//
// synchronous(FULL) syncs the write-ahead log at every commit, so a request
// that returned success survives a power loss, not only a crash of orgauth;
// NORMAL, the usual choice in WAL mode, may lose the last commits. Measured
// with BenchmarkSignIn/request, the sync adds about 0.14 ms of CPU (0.1 ms of
// it in the kernel) and 0.19 ms of waiting to a sign-in's write transaction,
// under 1% of a sign-in's argon2id.
//
// The statement journal in memory (temp_store) matters for speed. Reads do not
// memory-map the file: mapped pages of a large database would count as the
// server's resident memory, and the hot lookups are served from the server's
// caches anyway.
//
// The writer keeps SQLite's default page cache (2 MB), on purpose: at the end of
// every write transaction SQLite walks its page cache, so a larger one makes each
// commit dearer. Measured on a 1,000,000-user database, the sign-in transaction
// took about 175 µs of CPU with 2 MB, 235 µs with 16 MB and 305 µs with 64 MB; the
// pages it touches come from the operating system's cache either way.
const pragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)" +
	"&_pragma=temp_store(MEMORY)"

// Open opens the SQLite database at dsn, a file path or a "file:" URI, creating
// the file if needed. It must name a file: an in-memory database would not be
// shared by the read and write connections. Open does not migrate the schema;
// call Migrate before use.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if dsn == "" || strings.Contains(dsn, ":memory:") || strings.Contains(dsn, "mode=memory") {
		return nil, fmt.Errorf("sqlite: %q: the database must be a file", dsn)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	write, err := sql.Open("sqlite", dsn+sep+pragmas+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", dsn, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Connect the writer first: it switches the file to WAL before any reader opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", dsn, err)
	}
	read, err := sql.Open("sqlite", dsn+sep+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", dsn, err)
	}
	read.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	read.SetMaxIdleConns(max(4, 2*runtime.GOMAXPROCS(0)))
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", dsn, err)
	}
	db := &DB{read: read, write: write, readStmts: newStmts(read), writeStmts: newStmts(write)}
	db.queries = queries{read: db.readStmts, write: db.writeStmts, begin: write}
	return db, nil
}

// OpenAndMigrate opens the database at dsn and brings its schema up to date.
func OpenAndMigrate(ctx context.Context, dsn string) (*DB, error) {
	db, err := Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	return errors.Join(db.readStmts.close(), db.writeStmts.close(), db.read.Close(), db.write.Close())
}

// Ping reports whether both the read and the write connections work.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Update runs fn in one write transaction. fn must use only tx: calling db from
// inside fn to write would wait for the write connection fn holds.
func (db *DB) Update(ctx context.Context, fn func(tx orgauth.Queries) error) error {
	var missed []string
	err := transact(ctx, db.write, func(tx *sql.Tx) error {
		r := &txStmts{tx: tx, cache: db.writeStmts}
		defer func() { missed = r.missed }()
		return fn(&queries{read: r, write: r})
	})
	db.writeStmts.prepareAll(ctx, missed)
	return err
}

// transact runs fn in a transaction of db and commits it if fn succeeds. Waiting
// for a connection ends with ctx; a transaction that has begun runs to its end
// whatever becomes of ctx (see uncancelled).
func transact(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer conn.Close()
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := conn.BeginTx(uncancelled(ctx), nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback() // after Commit it does nothing
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// runner runs statements: a *sql.DB or a *sql.Tx.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// maxStmts bounds the prepared statements a pool keeps; further queries run
// unprepared.
const maxStmts = 256

// stmts is a runner on a pool that prepares each distinct query once and reuses
// it: parsing costs as much as a lookup by primary key. It is safe for concurrent
// use.
type stmts struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmts(db *sql.DB) *stmts { return &stmts{db: db, m: map[string]*sql.Stmt{}} }

// uncancelled returns ctx without its cancellation, for the statements of a write
// transaction that has begun. They take microseconds, and a transaction the
// client stops waiting for is better finished than rolled back: the outcome is
// the same whenever the client went. Without a cancellable context the driver and
// database/sql start no goroutine per statement to watch it, which was a tenth
// of the CPU of a sign-in's write transaction.
func uncancelled(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// prepared returns the prepared statement of query, or nil to run it unprepared.
func (s *stmts) prepared(ctx context.Context, query string) *sql.Stmt {
	s.mu.Lock()
	st, ok := s.m[query]
	full := len(s.m) >= maxStmts
	s.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // running it unprepared reports the error
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.m[query]; ok {
		st.Close()
		return prev
	}
	s.m[query] = st
	return st
}

// ExecContext implements runner.
func (s *stmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := s.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, query, args...)
}

// QueryContext implements runner.
func (s *stmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, query, args...)
}

// QueryRowContext implements runner.
func (s *stmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, query, args...)
}

// lookup returns the prepared statement of query, or nil when it has none yet.
func (s *stmts) lookup(query string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[query]
}

// prepareAll prepares the queries that are not prepared yet.
func (s *stmts) prepareAll(ctx context.Context, queries []string) {
	for _, q := range queries {
		s.prepared(ctx, q)
	}
}

// txStmts is the runner of a write transaction. It uses the statements the write
// connection has already prepared (the transaction runs on that one
// connection, so they need no new parsing) and runs the others unprepared,
// noting them to be prepared once the transaction has let the connection go:
// preparing on the pool meanwhile would wait for the connection the transaction
// holds.
type txStmts struct {
	tx     *sql.Tx
	cache  *stmts
	missed []string
}

func (t *txStmts) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := t.cache.lookup(query); st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	if !slices.Contains(t.missed, query) {
		t.missed = append(t.missed, query)
	}
	return nil
}

// ExecContext implements runner.
func (t *txStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = uncancelled(ctx)
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext implements runner.
func (t *txStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = uncancelled(ctx)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext implements runner.
func (t *txStmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = uncancelled(ctx)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// close closes the prepared statements.
func (s *stmts) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, st := range s.m {
		errs = append(errs, st.Close())
	}
	clear(s.m)
	return errors.Join(errs...)
}

// queries implements orgauth.Queries on the pools of a DB, or on a transaction.
type queries struct {
	read  runner  // runs reads
	write runner  // runs single writes
	begin *sql.DB // starts write transactions; nil inside a transaction
}

// atomically runs fn in a write transaction: the current one, or a new one.
func (q *queries) atomically(ctx context.Context, fn func(w runner) error) error {
	if q.begin == nil {
		return fn(q.write)
	}
	return transact(ctx, q.begin, func(tx *sql.Tx) error { return fn(tx) })
}

// InTenant returns the queries scoped to tenantID.
func (q *queries) InTenant(tenantID string) orgauth.TenantQueries {
	return &tenantQueries{q: q, tenant: tenantID}
}

// tenantQueries implements orgauth.TenantQueries. Every statement it runs has
// tenant_id = ? in its WHERE clause, bound to tenant.
type tenantQueries struct {
	q      *queries
	tenant string
}

// TenantID returns the id of the tenant of the scope.
func (tq *tenantQueries) TenantID() string { return tq.tenant }

// notFound returns the ENOTFOUND error for a missing object.
func notFound(what string) error {
	return orgauth.Errorf(orgauth.ENOTFOUND, "%s not found", what)
}

// sqliteCode returns the extended result code of err, or 0.
func sqliteCode(err error) int {
	var e *msqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY constraint.
func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports whether err is a violated FOREIGN KEY constraint.
func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// wrap annotates an unexpected error with the operation; nil stays nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// mustAffect returns a not-found error for what unless res changed a row.
func mustAffect(op, what string, res sql.Result, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}

// millis returns t as unix milliseconds, 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// msTime scans unix milliseconds into a time.Time (UTC), 0 into the zero time.
type msTime struct{ t *time.Time }

// Scan implements sql.Scanner.
func (m msTime) Scan(src any) error {
	ms, ok := src.(int64)
	if !ok {
		return fmt.Errorf("time column holds %T, not an integer", src)
	}
	*m.t = time.Time{}
	if ms != 0 {
		*m.t = time.UnixMilli(ms).UTC()
	}
	return nil
}

// blob returns b, or an empty slice for nil so that NOT NULL columns accept it.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// escapeLike escapes the LIKE wildcards of s for use with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// limit returns the page size to use for a requested limit.
func limit(n int) int {
	if n <= 0 || n > orgauth.MaxPageSize {
		return orgauth.MaxPageSize
	}
	return n
}

// badCursor returns the error for a cursor this store did not hand out.
func badCursor() error { return orgauth.Errorf(orgauth.EINVALID, "invalid continue token") }

// jsonText returns v as JSON text for a TEXT column.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// jsonCol scans JSON text into v.
type jsonCol struct{ v any }

// Scan implements sql.Scanner.
func (j jsonCol) Scan(src any) error {
	switch s := src.(type) {
	case string:
		return json.Unmarshal([]byte(s), j.v)
	case []byte:
		return json.Unmarshal(s, j.v)
	}
	return fmt.Errorf("JSON column holds %T, not text", src)
}
