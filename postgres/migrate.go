package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// migrationFiles are the schema changes, named NNNN_description.sql. Each runs
// once, in order of NNNN; a released file never changes. They mirror the
// migrations of the sqlite store, version for version.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order of version.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var list []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: migration %s: name must start with a positive number and _", base)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		list = append(list, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	for i := 1; i < len(list); i++ {
		if list[i].version == list[i-1].version {
			return nil, fmt.Errorf("postgres: migrations %s and %s have the same version", list[i-1].name, list[i].name)
		}
	}
	return list, nil
}

// migrateLockKey is the key of the transaction-level advisory lock every
// migration transaction takes first, so that instances starting together apply
// each migration once: the others wait, then find it recorded.
const migrateLockKey int64 = 0x6f72676175746801 // "orgauth" and 1

// Migrate applies the migrations the database lacks, in order, each in its own
// transaction under an advisory lock. It is safe to call on an up to date
// database and from several processes at once, and fails if the database is
// newer than this program.
func (db *DB) Migrate(ctx context.Context) error {
	list, err := migrations()
	if err != nil {
		return err
	}
	known := latest(list)
	for {
		done := false
		err := transact(ctx, db.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
				return fmt.Errorf("postgres: migrate: %w", err)
			}
			_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    INTEGER NOT NULL PRIMARY KEY,
				applied_at BIGINT  NOT NULL
			)`)
			if err != nil {
				return fmt.Errorf("postgres: migrate: %w", err)
			}
			var have int
			err = tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have)
			if err != nil {
				return fmt.Errorf("postgres: migrate: %w", err)
			}
			if have > known {
				return fmt.Errorf("postgres: the database schema is version %d, newer than this program (%d)", have, known)
			}
			var next *migration
			for i := range list {
				if list[i].version > have {
					next = &list[i]
					break
				}
			}
			if next == nil {
				done = true
				return nil
			}
			// Without arguments Exec uses the simple protocol, which runs a file
			// of several statements.
			if _, err := tx.Exec(ctx, next.sql); err != nil {
				return fmt.Errorf("postgres: migration %s: %w", next.name, err)
			}
			_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at)
				VALUES ($1, $2)`, next.version, time.Now().UnixMilli())
			if err != nil {
				return fmt.Errorf("postgres: migration %s: %w", next.name, err)
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// SchemaVersion returns the schema version of the database (0 before the first
// migration) and the latest version this program knows. The schema is the first
// of the connection's search_path, where Migrate creates its tables.
func (db *DB) SchemaVersion(ctx context.Context) (have, known int, err error) {
	list, err := migrations()
	if err != nil {
		return 0, 0, err
	}
	known = latest(list)
	var exists bool
	err = db.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists)
	if err != nil || !exists {
		return 0, known, wrap("schema version", err)
	}
	err = db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have)
	return have, known, wrap("schema version", err)
}

// latest returns the highest version of list, 0 if it is empty.
func latest(list []migration) int {
	if len(list) == 0 {
		return 0
	}
	return list[len(list)-1].version
}
