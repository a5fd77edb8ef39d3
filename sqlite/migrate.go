package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFiles are the schema changes, named NNNN_description.sql. Each runs
// once, in order of NNNN; a released file never changes.
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
			return nil, fmt.Errorf("sqlite: migration %s: name must start with a positive number and _", base)
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
			return nil, fmt.Errorf("sqlite: migrations %s and %s have the same version", list[i-1].name, list[i].name)
		}
	}
	return list, nil
}

// Migrate applies the migrations the database lacks, in order, in one
// transaction: either all of them land or none. It is safe to call on an up to
// date database, and fails if the database is newer than this program.
func (db *DB) Migrate(ctx context.Context) error {
	list, err := migrations()
	if err != nil {
		return err
	}
	return transact(ctx, db.write, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			applied_at INTEGER NOT NULL
		)`)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		var have int
		err = tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if known := latest(list); have > known {
			return fmt.Errorf("sqlite: the database schema is version %d, newer than this program (%d)", have, known)
		}
		for _, m := range list {
			if m.version <= have {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at)
				VALUES (?, ?)`, m.version, time.Now().UnixMilli())
			if err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
			}
		}
		return nil
	})
}

// SchemaVersion returns the schema version of the database (0 before the first
// migration) and the latest version this program knows.
func (db *DB) SchemaVersion(ctx context.Context) (have, known int, err error) {
	list, err := migrations()
	if err != nil {
		return 0, 0, err
	}
	known = latest(list)
	var tables int
	err = db.read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master
		WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables)
	if err != nil || tables == 0 {
		return 0, known, wrap("schema version", err)
	}
	err = db.read.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have)
	return have, known, wrap("schema version", err)
}

// latest returns the highest version of list, 0 if it is empty.
func latest(list []migration) int {
	if len(list) == 0 {
		return 0
	}
	return list[len(list)-1].version
}
