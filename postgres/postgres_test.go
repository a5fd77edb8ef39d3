package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/storetest"
)

// testURL returns the database of the tests, $ORGAUTH_TEST_DATABASE_URL, and
// skips tb when it is not set.
func testURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("ORGAUTH_TEST_DATABASE_URL")
	if url == "" {
		tb.Skip("ORGAUTH_TEST_DATABASE_URL not set")
	}
	return url
}

// exec runs one statement on its own connection to the test database.
func exec(tb testing.TB, url, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatal(err)
	}
}

// openSchema creates a new empty schema in the test database, dropped when tb
// ends, and opens a store whose connections use it. It does not migrate.
func openSchema(tb testing.TB) *DB {
	tb.Helper()
	url := testURL(tb)
	schema := "oa_test_" + orgauth.NewID()
	exec(tb, url, `CREATE SCHEMA `+schema)
	tb.Cleanup(func() { exec(tb, url, `DROP SCHEMA `+schema+` CASCADE`) })
	return openIn(tb, url, schema)
}

// openIn opens a store on the given schema of the database at url, closed when
// tb ends.
func openIn(tb testing.TB, url, schema string) *DB {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = defaultMaxConns
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	db, err := openConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() }) // runs before the schema is dropped
	return db
}

// openTest opens a store on a new, migrated schema.
func openTest(tb testing.TB) *DB {
	tb.Helper()
	db := openSchema(tb)
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return db
}

func TestStore(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) orgauth.Store { return openTest(t) })
}

func TestOpenURL(t *testing.T) {
	url := testURL(t)
	db, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.pool.Config().MaxConns; got != defaultMaxConns {
		t.Errorf("MaxConns = %d, want %d", got, defaultMaxConns)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), "postgres://u:secret@[::1"); err == nil {
		t.Fatal("Open accepted a malformed URL")
	} else if s := err.Error(); strings.Contains(s, "secret") {
		t.Fatalf("Open error reveals the password: %s", s)
	}
}

func TestMigrate(t *testing.T) {
	ctx := t.Context()
	db := openSchema(t)

	have, known, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if have != 0 || known < 1 {
		t.Fatalf("new schema: SchemaVersion = %d, %d; want 0 and at least 1", have, known)
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
	if list, _ := migrations(); appliedMigrations(t, db) != len(list) {
		t.Fatalf("%d migrations recorded, want %d", appliedMigrations(t, db), len(list))
	}

	// A schema newer than the program is reported and refused.
	if _, err := db.pool.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, known+1); err != nil {
		t.Fatal(err)
	}
	have, k, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if have != known+1 || k != known {
		t.Fatalf("future schema: SchemaVersion = %d, %d; want %d, %d", have, k, known+1, known)
	}
	if err := db.Migrate(ctx); err == nil {
		t.Fatal("Migrate accepted a schema from the future")
	}
}

// appliedMigrations counts the rows of schema_migrations.
func appliedMigrations(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateConcurrent(t *testing.T) {
	url := testURL(t)
	db := openSchema(t)
	// A second store on the same schema, like a second instance starting.
	schema := db.pool.Config().ConnConfig.RuntimeParams["search_path"]
	stores := []*DB{db, openIn(t, url, schema), openIn(t, url, schema), db}

	start := make(chan struct{})
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = s.Migrate(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d: %v", i, err)
		}
	}
	_, _, err := db.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := migrations(); appliedMigrations(t, db) != len(list) {
		t.Fatalf("%d migrations recorded, want %d", appliedMigrations(t, db), len(list))
	}
	// The schema works.
	if err := db.CreateTenant(t.Context(), &orgauth.Tenant{Name: "after"}); err != nil {
		t.Fatal(err)
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

func TestErrorMessages(t *testing.T) {
	ctx := t.Context()
	db := openTest(t)
	tn := &orgauth.Tenant{Name: "acme"}
	if err := db.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	q := db.InTenant(tn.ID)
	u := &orgauth.User{Email: "a@example.com"}
	if err := q.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		err       error
		code, msg string
	}{
		{"tenant name", db.CreateTenant(ctx, &orgauth.Tenant{Name: "acme"}),
			orgauth.ECONFLICT, "a tenant with this name already exists"},
		{"tenant id", db.CreateTenant(ctx, &orgauth.Tenant{ID: tn.ID, Name: "other"}),
			orgauth.ECONFLICT, "the tenant already exists"},
		{"user email", q.CreateUser(ctx, &orgauth.User{Email: "A@example.com"}),
			orgauth.ECONFLICT, "a user with this email already exists"},
		{"user id", q.CreateUser(ctx, &orgauth.User{ID: u.ID, Email: "b@example.com"}),
			orgauth.ECONFLICT, "the user already exists"},
		{"user of no tenant", db.InTenant(orgauth.NewID()).CreateUser(ctx, &orgauth.User{Email: "c@example.com"}),
			orgauth.ENOTFOUND, "tenant not found"},
		{"bulk of no tenant", db.BulkCreateUsers(ctx, orgauth.NewID(), []*orgauth.User{{Email: "d@example.com"}}),
			orgauth.ENOTFOUND, "tenant not found"},
		{"bulk duplicate", db.BulkCreateUsers(ctx, tn.ID, []*orgauth.User{{Email: "e@example.com"}, {Email: "E@example.com"}}),
			orgauth.ECONFLICT, "a user with this email already exists"},
		{"missing user", func() error { _, err := q.User(ctx, orgauth.NewID()); return err }(),
			orgauth.ENOTFOUND, "user not found"},
	} {
		if got := orgauth.ErrorCode(c.err); got != c.code {
			t.Errorf("%s: %v: code %s, want %s", c.name, c.err, got, c.code)
		}
		if got := orgauth.ErrorMessage(c.err); got != c.msg {
			t.Errorf("%s: message %q, want %q", c.name, got, c.msg)
		}
	}
	if n, err := q.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers = %d, %v; want 1 (the failed bulk insert stored nothing)", n, err)
	}
}

func TestBulkCreateUsers(t *testing.T) {
	ctx := t.Context()
	db := openTest(t)
	tn := &orgauth.Tenant{Name: "bulk"}
	if err := db.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	users := []*orgauth.User{
		{Email: "Ada@Example.com", FirstName: "Ada", LastName: "Lovelace",
			Roles: []string{orgauth.RoleTenantAdmin}, Annotations: map[string]string{"k": "v"},
			Activated: true, PasswordHash: "h", CreatedAt: at, UpdatedAt: at},
		{Email: "bob@example.com", FirstName: "Bob", CreatedAt: at.Add(time.Millisecond)},
	}
	if err := db.BulkCreateUsers(ctx, tn.ID, users); err != nil {
		t.Fatal(err)
	}
	q := db.InTenant(tn.ID)
	got, err := q.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != users[0].ID || got.TenantID != tn.ID || got.Name() != "Ada Lovelace" ||
		len(got.Roles) != 1 || got.Annotations["k"] != "v" || !got.Activated ||
		got.PasswordHash != "h" || !got.CreatedAt.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("bulk user: %+v", got)
	}
	list, _, err := q.ListUsers(ctx, orgauth.UserFilter{SortByName: true, Name: orgauth.StringMatch{BeginsWith: "bo"}})
	if err != nil || len(list) != 1 || list[0].ID != users[1].ID {
		t.Fatalf("ListUsers after bulk insert = %v, %v", list, err)
	}
}

func TestCreateUserTokenConcurrent(t *testing.T) {
	ctx := t.Context()
	db := openTest(t)
	tn := &orgauth.Tenant{Name: "acme"}
	if err := db.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	q := db.InTenant(tn.ID)
	u := &orgauth.User{Email: "u@example.com"}
	if err := q.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = q.CreateUserToken(ctx, &orgauth.UserToken{UserID: u.ID,
				Purpose: orgauth.PurposeReset, Hash: []byte(orgauth.NewID()),
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var total, unused int
	err := db.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE used_at = 0)
		FROM user_tokens WHERE user_id = $1`, u.ID).Scan(&total, &unused)
	if err != nil {
		t.Fatal(err)
	}
	if total != n || unused != 1 {
		t.Fatalf("%d tokens, %d unused; want %d and 1", total, unused, n)
	}
}

// A failed statement aborts the PostgreSQL transaction: an fn that swallows the
// error cannot commit half of its work.
func TestUpdateAfterFailedStatement(t *testing.T) {
	ctx := t.Context()
	db := openTest(t)
	tn := &orgauth.Tenant{Name: "acme"}
	if err := db.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	err := db.Update(ctx, func(tx orgauth.Queries) error {
		q := tx.InTenant(tn.ID)
		if err := q.CreateUser(ctx, &orgauth.User{Email: "a@example.com"}); err != nil {
			return err
		}
		if err := q.CreateUser(ctx, &orgauth.User{Email: "A@example.com"}); orgauth.ErrorCode(err) != orgauth.ECONFLICT {
			return fmt.Errorf("duplicate: %v", err)
		}
		return nil // swallowed
	})
	if err == nil {
		t.Fatal("Update committed a transaction with a failed statement")
	}
	if n, err := db.InTenant(tn.ID).CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers = %d, %v; want 0", n, err)
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
		{"api key hash", `SELECT id FROM api_keys WHERE hash = '\x00'::bytea`, "api_keys_hash"},
		{"tenant name", `SELECT id FROM tenants WHERE name = 'a'`, "tenants_name"},
	} {
		// The tables are empty: without enable_seqscan = off the planner would
		// read them sequentially. SET and EXPLAIN must share a connection.
		conn, err := db.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		_, err = conn.Exec(ctx, `SET enable_seqscan = off`)
		if err == nil {
			var rows pgx.Rows
			rows, err = conn.Query(ctx, "EXPLAIN "+c.query)
			if err == nil {
				var lines []string
				lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
				for _, l := range lines {
					plan += l + "; "
				}
			}
		}
		conn.Exec(ctx, `RESET enable_seqscan`)
		conn.Release()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, c.index) || strings.Contains(plan, "Sort") {
			t.Errorf("%s: plan %q does not use index %s alone", c.name, plan, c.index)
		}
	}
}

// seed fills db with a tenant of n users, each of the first 1000 with an API key,
// and returns the tenant id, the user ids and the key hashes.
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
	if _, err := db.pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
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
