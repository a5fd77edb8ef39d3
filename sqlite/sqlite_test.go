package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/storetest"
)

// openTest opens a new migrated database in a temporary directory.
func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := OpenAndMigrate(context.Background(), filepath.Join(t.TempDir(), "orgauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) orgauth.Store { return openTest(t) })
}

func TestMigrate(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "orgauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	have, known, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if have != 0 || known < 1 {
		t.Fatalf("new database: SchemaVersion = %d, %d; want 0 and at least 1", have, known)
	}
	for range 3 { // idempotent
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		have, k, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if have != known || k != known {
			t.Fatalf("after Migrate: SchemaVersion = %d, %d; want %d, %d", have, k, known, known)
		}
	}
	var applied int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if list, _ := migrations(); applied != len(list) {
		t.Fatalf("%d migrations recorded, want %d", applied, len(list))
	}

	// A database newer than the program is refused.
	if _, err := db.write.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, known+1); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err == nil {
		t.Fatal("Migrate accepted a database from the future")
	}
}

func TestMigrationsOrdered(t *testing.T) {
	list, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	// Versions are assigned per feature branch (0002, 0003, 0004 ...), so a branch
	// may lack some; they must still rise strictly.
	for i, m := range list {
		if m.version < 1 || (i > 0 && m.version <= list[i-1].version) {
			t.Fatalf("migration %s has version %d after %d", m.name, m.version, list[max(i-1, 0)].version)
		}
	}
}

func TestPragmas(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	for _, c := range []struct {
		pool   *sql.DB
		pragma string
		want   string
	}{
		{db.write, "journal_mode", "wal"},
		{db.write, "foreign_keys", "1"},
		{db.write, "busy_timeout", "10000"},
		{db.write, "synchronous", "2"},
		{db.write, "cache_size", "-2000"},
		{db.read, "foreign_keys", "1"},
		{db.read, "busy_timeout", "10000"},
		{db.read, "query_only", "1"},
	} {
		var got string
		if err := c.pool.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
}

// TestWritesRunToTheirEnd checks that a write transaction that has begun
// commits even when its context ends midway, and that one whose context has
// already ended does not begin.
func TestWritesRunToTheirEnd(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(t.Context())
	err := db.Update(ctx, func(tx orgauth.Queries) error {
		cancel()
		return tx.CreateTenant(ctx, &orgauth.Tenant{ID: orgauth.NewID(), Name: "midway", Email: "a@midway.example", Active: true})
	})
	if err != nil {
		t.Fatalf("Update whose context ended midway: %v", err)
	}
	if _, err := db.TenantByName(t.Context(), "midway"); err != nil {
		t.Fatalf("the tenant written after the cancellation: %v", err)
	}
	ran := false
	err = db.Update(ctx, func(orgauth.Queries) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Update with an ended context: %v, ran %v", err, ran)
	}
}

func TestOpenRefusesMemory(t *testing.T) {
	if _, err := Open(t.Context(), ":memory:"); err == nil {
		t.Fatal("Open accepted an in-memory database")
	}
}

func TestCursorQueriesUseIndex(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	for _, c := range []struct{ name, query, index string }{
		{"created", `SELECT id FROM users WHERE tenant_id = 'x' AND (created_at, id) > (1, 'a') ORDER BY created_at, id LIMIT 51`, "users_created"},
		{"created desc", `SELECT id FROM users WHERE tenant_id = 'x' AND (created_at, id) < (1, 'a') ORDER BY created_at DESC, id DESC LIMIT 51`, "users_created"},
		{"name", `SELECT id FROM users WHERE tenant_id = 'x' AND (name_norm, id) > ('a', 'a') ORDER BY name_norm, id LIMIT 51`, "users_name"},
		{"by email", `SELECT id FROM users WHERE email_norm = 'a@b'`, "users_email"},
		{"api key hash", `SELECT id FROM api_keys WHERE hash = x'00'`, "api_keys_hash"},
		{"tenant name", `SELECT id FROM tenants WHERE name = 'a'`, "tenants_name"},
	} {
		rows, err := db.read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+c.query)
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan += detail + "; "
		}
		rows.Close()
		if !strings.Contains(plan, c.index) || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: plan %q does not use index %s alone", c.name, plan, c.index)
		}
	}
}

// seed fills db with a tenant of n users, each with an API key, and returns the
// tenant id, the user ids and the key hashes.
func seed(b testing.TB, db *DB, n int) (string, []string, [][]byte) {
	b.Helper()
	ctx := context.Background()
	tn := &orgauth.Tenant{ID: orgauth.NewID(), Name: "bench", Active: true}
	if err := db.CreateTenant(ctx, tn); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	users := make([]*orgauth.User, n)
	for i := range users {
		users[i] = &orgauth.User{ID: orgauth.NewID(), Email: fmt.Sprintf("user%d@example.com", i),
			FirstName: "User", LastName: fmt.Sprint(i), Roles: []string{orgauth.RoleTenantViewer},
			CreatedAt: start.Add(time.Duration(i) * time.Millisecond)}
	}
	if err := db.BulkCreateUsers(ctx, tn.ID, users); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	hashes := make([][]byte, 0, 1000)
	q := db.InTenant(tn.ID)
	for i, u := range users {
		ids[i] = u.ID
		if i < cap(hashes) {
			k := &orgauth.APIKey{UserID: u.ID, Name: "k", Hash: []byte(orgauth.NewID() + orgauth.NewID()),
				Active: true, ExpiresAt: start.Add(time.Hour), CreatedAt: start}
			if err := q.CreateAPIKey(ctx, k); err != nil {
				b.Fatal(err)
			}
			hashes = append(hashes, k.Hash)
		}
	}
	return tn.ID, ids, hashes
}

// benchUsers is the number of users the benchmarks seed: 100,000, or
// $ORGAUTH_BENCH_USERS.
var benchUsers = 100_000

func init() {
	if n, err := strconv.Atoi(os.Getenv("ORGAUTH_BENCH_USERS")); err == nil && n > 0 {
		benchUsers = n
	}
}

func BenchmarkUserByID(b *testing.B) {
	db := openTest(b)
	tenant, ids, _ := seed(b, db, benchUsers)
	q := db.InTenant(tenant)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := q.User(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
	})
}

func BenchmarkAPIKeyByHash(b *testing.B) {
	db := openTest(b)
	_, _, hashes := seed(b, db, 10_000)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.APIKeyByHash(ctx, hashes[i%len(hashes)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkListUsersPage(b *testing.B) {
	db := openTest(b)
	tenant, _, _ := seed(b, db, benchUsers)
	q := db.InTenant(tenant)
	ctx := context.Background()
	// Start from the middle of the list.
	f := orgauth.UserFilter{}
	for range benchUsers / 2 / orgauth.MaxPageSize {
		_, next, err := q.ListUsers(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		f.Continue = next
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := q.ListUsers(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBulkCreateUsers(b *testing.B) {
	db := openTest(b)
	tn := &orgauth.Tenant{ID: orgauth.NewID(), Name: "bulk"}
	if err := db.CreateTenant(context.Background(), tn); err != nil {
		b.Fatal(err)
	}
	const batch = 10_000
	start := time.Now()
	n := 0
	for b.Loop() {
		users := make([]*orgauth.User, batch)
		for i := range users {
			users[i] = &orgauth.User{Email: fmt.Sprintf("u%d@example.com", n), FirstName: "U",
				CreatedAt: start.Add(time.Duration(n) * time.Millisecond)}
			n++
		}
		if err := db.BulkCreateUsers(context.Background(), tn.ID, users); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGarbageCollect is the hourly collection over one session per seeded
// user ($ORGAUTH_BENCH_USERS, default 100,000): the first run deletes the half
// that ended (reported as first-ms), each op is a later run that walks the
// live half and deletes nothing.
func BenchmarkGarbageCollect(b *testing.B) {
	db := openTest(b)
	tenant, ids, _ := seed(b, db, benchUsers)
	ctx := context.Background()
	now := time.Now()
	err := db.Update(ctx, func(tx orgauth.Queries) error {
		q := tx.InTenant(tenant)
		for i, id := range ids {
			s := &orgauth.Session{UserID: id, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
			if i%2 == 1 {
				s.RevokedAt = now.Add(-time.Minute)
			}
			if err := q.CreateSession(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	c := orgauth.Collect{Now: now, SessionIdle: time.Hour, KeepMail: 7 * 24 * time.Hour}
	start := time.Now()
	got, err := db.GarbageCollect(ctx, c)
	if err != nil || got.Sessions != len(ids)/2 {
		b.Fatalf("first GarbageCollect = %+v, %v; want %d sessions", got, err, len(ids)/2)
	}
	first := time.Since(start)
	for b.Loop() {
		if got, err := db.GarbageCollect(ctx, c); err != nil || got.Total() != 0 {
			b.Fatalf("GarbageCollect = %+v, %v; want nothing", got, err)
		}
	}
	b.ReportMetric(float64(first.Milliseconds()), "first-ms")
}
