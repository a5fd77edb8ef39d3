// Package postgres implements orgauth.Store on PostgreSQL, with the driver
// github.com/jackc/pgx/v5 and its connection pool.
//
// Statements run in PostgreSQL's default READ COMMITTED isolation. Each write
// that must be race-safe is one statement (ReserveLoginAttempt is a single
// UPDATE, which PostgreSQL re-evaluates on the newest row version when another
// transaction changed it first) or takes a row lock first (CreateUserToken).
//
// Open does not create or upgrade the schema: call Migrate (or use OpenAndMigrate).
//
// Inside Update, a statement that fails in the database (a duplicate email, say)
// aborts the PostgreSQL transaction: fn must return the error, as every caller
// does, and must not go on using tx.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/orgauth/orgauth"
)

// DB is an orgauth.Store on a PostgreSQL database.
type DB struct {
	queries
	pool          *pgxpool.Pool
	onListenError func(context.Context, error)
}

var _ orgauth.Store = (*DB)(nil)

// defaultMaxConns is the pool size unless the URL sets pool_max_conns.
const defaultMaxConns = 16

// Open connects to the PostgreSQL database at url, a postgres:// URL or a
// keyword/value connection string. Pool settings of pgxpool (pool_max_conns and
// the like) may be given in it; the pool holds at most 16 connections otherwise.
// Open does not migrate the schema; call Migrate before use.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The error of ParseConfig may quote the URL, password included.
		return nil, errors.New("postgres: open: invalid connection string")
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	cfg.ConnConfig.Tracer = counter{}
	return openConfig(ctx, cfg)
}

// openConfig opens a pool with cfg and checks that it can connect.
func openConfig(ctx context.Context, cfg *pgxpool.Config) (*DB, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db := &DB{pool: pool}
	db.queries = queries{db: pool, pool: pool}
	return db, nil
}

// OpenAndMigrate opens the database at url and brings its schema up to date.
func OpenAndMigrate(ctx context.Context, url string) (*DB, error) {
	db, err := Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the connection pool, waiting for the connections in use.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Update runs fn in one transaction, committed if fn returns nil and rolled back
// otherwise. The error of fn is returned as it is.
func (db *DB) Update(ctx context.Context, fn func(tx orgauth.Queries) error) error {
	return transact(ctx, db.pool, func(tx pgx.Tx) error {
		return fn(&queries{db: tx})
	})
}

// transact runs fn in a transaction of pool and commits it if fn succeeds.
func transact(ctx context.Context, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // after Commit it does nothing
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// querier runs statements: the pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queries implements orgauth.Queries on the pool, or on a transaction.
type queries struct {
	db   querier
	pool *pgxpool.Pool // starts transactions; nil inside a transaction
}

// atomically runs fn in a transaction: the current one, or a new one.
func (q *queries) atomically(ctx context.Context, fn func(db querier) error) error {
	if q.pool == nil {
		return fn(q.db)
	}
	return transact(ctx, q.pool, func(tx pgx.Tx) error { return fn(tx) })
}

// InTenant returns the queries scoped to tenantID.
func (q *queries) InTenant(tenantID string) orgauth.TenantQueries {
	return &tenantQueries{q: q, tenant: tenantID}
}

// tenantQueries implements orgauth.TenantQueries. Every statement it runs has
// tenant_id = $n in its WHERE clause, bound to tenant.
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

// SQLSTATE codes of the constraint violations the store maps.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// pgError returns the PostgreSQL error of err, or nil.
func pgError(err error) *pgconn.PgError {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY constraint.
func isUnique(err error) bool {
	e := pgError(err)
	return e != nil && e.Code == uniqueViolation
}

// isUniqueOn reports whether err is a violation of the named unique constraint.
func isUniqueOn(err error, constraint string) bool {
	e := pgError(err)
	return e != nil && e.Code == uniqueViolation && e.ConstraintName == constraint
}

// isForeignKey reports whether err is a violated FOREIGN KEY constraint.
func isForeignKey(err error) bool {
	e := pgError(err)
	return e != nil && e.Code == foreignKeyViolation
}

// wrap annotates an unexpected error with the operation; nil stays nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// mustAffect returns a not-found error for what unless tag counts a changed row.
func mustAffect(op, what string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
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

// msTime scans a BIGINT of unix milliseconds into a time.Time (UTC), 0 into the
// zero time.
type msTime struct{ t *time.Time }

// ScanInt64 implements pgtype.Int64Scanner.
func (m msTime) ScanInt64(v pgtype.Int8) error {
	if !v.Valid {
		return errors.New("time column is NULL")
	}
	*m.t = time.Time{}
	if v.Int64 != 0 {
		*m.t = time.UnixMilli(v.Int64).UTC()
	}
	return nil
}

// blob returns b, or an empty slice for nil: pgx sends a nil slice as NULL, which
// NOT NULL columns refuse.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// jsonb returns v as JSON for a JSONB column: null for a nil map or slice, as the
// sqlite store keeps it. JSON columns are scanned straight into the Go value.
func jsonb(v any) ([]byte, error) { return json.Marshal(v) }

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

// args collects the arguments of a statement built piece by piece.
type args []any

// add appends v and returns its placeholder, $n.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}
