package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/bootstrap"
	"github.com/orgauth/orgauth/password"
	"github.com/orgauth/orgauth/token"
)

// The seeded dataset is fully determined by the number of users and tenants, so
// the load generator can name any seeded account without asking the server:
// user i has email userEmail(i), lives in tenant tenantOf(i), whose name is
// orgName(tenantOf(i)), and signs in with userPassword.
const (
	userPassword  = "Bench-Passw0rd!"
	adminEmail    = "admin@bench.example"
	adminPassword = "Bench-Admin-Passw0rd!"
)

func userEmail(i int) string { return fmt.Sprintf("user%08d@bench.example", i) }

func orgName(t int) string { return fmt.Sprintf("org%06d", t) }

// dataset describes what seed put in the database.
type dataset struct {
	users, tenants int
}

// tenantOf returns the tenant index of user i. Each tenant holds a contiguous
// run of users, as even as the numbers allow (with fewer users than tenants,
// some tenants stay empty).
func (d dataset) tenantOf(i int) int { return int(int64(i) * int64(d.tenants) / int64(d.users)) }

// seedStats reports how long seeding took.
type seedStats struct {
	HashSeconds  float64 `json:"hash_seconds"`  // computing the one shared password hash
	TotalSeconds float64 `json:"total_seconds"` // tenants, users and the system administrator
	UsersPerSec  float64 `json:"users_per_sec"`
	// VacuumSeconds is the VACUUM (ANALYZE) after seeding on PostgreSQL, not
	// part of TotalSeconds.
	VacuumSeconds float64 `json:"vacuum_seconds,omitempty"`
	// DBBytes is the size of the database after seeding: the database and WAL
	// files of SQLite, the tables and indexes of the schema on PostgreSQL.
	DBBytes int64 `json:"db_bytes"`
}

// seed fills the database with d.tenants customer tenants and d.users
// users, plus the system tenant and its administrator made by bootstrap.Run, as
// a first start of orgauth would.
//
// Every user is activated with the same password hash, computed once by hasher
// with the parameters the server runs with: hashing a million passwords one by
// one would take hours, and a copied hash verifies exactly like a fresh one (the
// salt is in the hash). The first user of every tenant is a tenant-admin, the others
// tenant-viewers.
//
// SQLite and PostgreSQL are seeded alike, through orgauth.Store and
// BulkCreateUsers (one transaction per tenant; COPY on PostgreSQL).
func seed(ctx context.Context, target database, d dataset, hasher *password.Hasher, hash string) (seedStats, error) {
	var st seedStats
	start := time.Now()
	db, err := target.open(ctx)
	if err != nil {
		return st, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return st, err
	}

	now := time.Now().UTC()
	if _, err := bootstrap.Run(ctx, db, hasher, adminEmail, adminPassword, now); err != nil {
		return st, fmt.Errorf("bootstrap: %w", err)
	}

	tenantIDs := make([]string, d.tenants)
	err = db.Update(ctx, func(tx orgauth.Queries) error {
		for t := range tenantIDs {
			tn := &orgauth.Tenant{
				ID: orgauth.NewID(), Name: orgName(t), Email: "owner@" + orgName(t) + ".example",
				AuthType: "password", LoginMode: "devops", Active: true, TokenExpiryMinutes: 15,
				CreatedAt: now, UpdatedAt: now,
			}
			if err := tx.CreateTenant(ctx, tn); err != nil {
				return fmt.Errorf("tenant %s: %w", tn.Name, err)
			}
			tenantIDs[t] = tn.ID
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	if err := seedSSO(ctx, db, tenantIDs, now); err != nil {
		return st, err
	}
	logf("seeded %d tenants in %v", d.tenants, time.Since(start).Round(time.Millisecond))

	// Users go in one transaction per tenant (BulkCreateUsers). A second goroutine
	// builds the next batches while the current one is written.
	type batch struct {
		tenant int
		users  []*orgauth.User
	}
	batches := make(chan batch, 4)
	go func() {
		defer close(batches)
		ids := newSeqIDs()
		var users []*orgauth.User
		for i := 0; i < d.users; i++ {
			t := d.tenantOf(i)
			role := orgauth.RoleTenantViewer
			if i == 0 || d.tenantOf(i-1) != t {
				role = orgauth.RoleTenantAdmin // the first user of each tenant
			}
			users = append(users, &orgauth.User{
				ID: ids.next(), Email: userEmail(i), FirstName: "User", LastName: strconv.Itoa(i),
				LoginMode: "devops", Roles: []string{role}, Activated: true, PasswordHash: hash,
				PasswordChangedAt: now, CreatedAt: now.Add(time.Duration(i) * time.Microsecond), UpdatedAt: now,
			})
			if i+1 == d.users || d.tenantOf(i+1) != t {
				select {
				case batches <- batch{t, users}:
				case <-ctx.Done():
					return
				}
				users = nil
			}
		}
	}()
	done, lastLog := 0, time.Now()
	for b := range batches {
		if len(b.users) == 0 {
			continue
		}
		if err := db.BulkCreateUsers(ctx, tenantIDs[b.tenant], b.users); err != nil {
			return st, fmt.Errorf("users of %s: %w", orgName(b.tenant), err)
		}
		done += len(b.users)
		if time.Since(lastLog) > 5*time.Second {
			logf("  %d/%d users", done, d.users)
			lastLog = time.Now()
		}
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if err := db.Close(); err != nil { // SQLite: checkpoints the WAL into the database file
		return st, err
	}
	st.TotalSeconds = time.Since(start).Seconds()
	st.UsersPerSec = float64(d.users) / st.TotalSeconds
	logf("seeded %d users in %.1fs (%.0f users/s)", d.users, st.TotalSeconds, st.UsersPerSec)
	if _, ok := target.(*postgresDB); ok {
		t0 := time.Now()
		if err := target.afterSeed(ctx); err != nil {
			return st, err
		}
		st.VacuumSeconds = time.Since(t0).Seconds()
		logf("VACUUM (ANALYZE) of the seeded tables in %.1fs", st.VacuumSeconds)
	}
	if st.DBBytes, err = target.size(ctx); err != nil {
		return st, err
	}
	logf("database: %d MB", st.DBBytes>>20)
	return st, nil
}

// dbPathIn returns where orgauth keeps its database in a data directory.
func dbPathIn(dataDir string) string { return filepath.Join(dataDir, "orgauth.db") }

// seqIDs makes user ids in the format of orgauth.NewID (24 lower-case hex
// digits) that increase in the order they are made, like MongoDB ObjectIDs: 48
// bits of a counter started at the clock, then 48 random bits. Seeding inserts
// users in this order, so every insert lands at the end of the primary key
// index instead of at a random page of it. With random ids each 100-user
// transaction dirties about a hundred scattered index pages and seeding a
// million users takes minutes; with these it takes seconds. Reads by id are
// the same either way.
type seqIDs struct{ n uint64 }

func newSeqIDs() *seqIDs { return &seqIDs{n: uint64(time.Now().UnixMicro())} }

func (s *seqIDs) next() string {
	s.n++
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%012x%s", s.n&(1<<48-1), hex.EncodeToString(b[:]))
}

// seedSSO configures the social logins GitHub and google, and lets every other
// tenant (the even ones) offer both; the odd ones never chose, so their
// catalogue is empty.
func seedSSO(ctx context.Context, db orgauth.Store, tenantIDs []string, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(benchMasterKey)
	if err != nil {
		return err
	}
	var apps []*orgauth.SSOApp
	for _, a := range []struct{ name, kind, issuer string }{
		{"github", orgauth.SSOKindGitHub, ""},
		{"google", orgauth.SSOKindOIDC, "https://accounts.google.com"},
	} {
		sealed, err := token.Seal(key, []byte("bench-secret-"+a.name), []byte("sso-app:"+a.name))
		if err != nil {
			return err
		}
		apps = append(apps, &orgauth.SSOApp{Name: a.name, Kind: a.kind, Enabled: true, ClientID: "bench-" + a.name,
			SealedSecret: sealed, IssuerURL: a.issuer, UpdatedAt: now})
	}
	return db.Update(ctx, func(tx orgauth.Queries) error {
		if err := tx.SetSSOApps(ctx, apps); err != nil {
			return err
		}
		for t := 0; t < len(tenantIDs); t += 2 {
			l := &orgauth.TenantSSOLogins{Enabled: true, Logins: []string{"github", "google"}, UpdatedAt: now}
			if err := tx.InTenant(tenantIDs[t]).SetSSOLogins(ctx, l); err != nil {
				return err
			}
		}
		return nil
	})
}
