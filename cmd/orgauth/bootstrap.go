package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/password"
)

// systemOrg is the name of the operator's own tenant, home of system admins.
const systemOrg = "system"

// bootstrap creates, on first start, the system tenant and its first administrator
// from ORGAUTH_ADMIN_EMAIL and ORGAUTH_ADMIN_PASSWORD. Without a password it
// generates a strong one and prints it once to stdout. Later starts change nothing.
func bootstrap(ctx context.Context, db orgauth.Store, hasher *password.Hasher, cfg *config, stdout io.Writer, log *slog.Logger) error {
	if _, err := db.TenantByName(ctx, systemOrg); err == nil {
		return nil
	} else if orgauth.ErrorCode(err) != orgauth.ENOTFOUND {
		return err
	}
	pw, generated := cfg.AdminPassword, false
	if pw == "" {
		pw, generated = generatePassword(), true
	}
	if err := orgauth.DefaultPasswordPolicy.Check(pw); err != nil {
		return fmt.Errorf("ORGAUTH_ADMIN_PASSWORD: %s", orgauth.ErrorMessage(err))
	}
	hash, err := hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	now := time.Now()
	t := &orgauth.Tenant{
		ID: orgauth.NewID(), Name: systemOrg, System: true, Email: cfg.AdminEmail, AuthType: "password",
		LoginMode: "devops", Active: true, TokenExpiryMinutes: 15, CreatedAt: now, UpdatedAt: now,
	}
	admin := &orgauth.User{
		ID: orgauth.NewID(), TenantID: t.ID, Email: cfg.AdminEmail, FirstName: "System", LastName: "Admin",
		LoginMode: "devops", Roles: []string{orgauth.RoleSystemAdmin}, CreatedAt: now, UpdatedAt: now,
	}
	err = db.Update(ctx, func(tx orgauth.Queries) error {
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		tq := tx.InTenant(t.ID)
		if err := tq.CreateUser(ctx, admin); err != nil {
			return err
		}
		if err := tq.SetPassword(ctx, admin.ID, hash, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, &orgauth.AuditRecord{
			ID: orgauth.NewID(), TenantID: t.ID, Action: "bootstrap", Target: admin.ID,
			Outcome: "success", CreatedAt: now,
		})
	})
	if err != nil {
		return fmt.Errorf("creating the first administrator: %w", err)
	}
	log.Info("created the system administrator", "email", cfg.AdminEmail, "org", systemOrg)
	if generated {
		fmt.Fprintf(stdout, "\nFirst start: system administrator created.\n  org:      %s\n  email:    %s\n  password: %s\nThis password is shown once; sign in and change it.\n\n", systemOrg, cfg.AdminEmail, pw)
	}
	return nil
}

// generatePassword returns 24 random characters with every character class the
// default policy asks for.
func generatePassword() string {
	const (
		upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower   = "abcdefghijkmnopqrstuvwxyz"
		digits  = "23456789"
		special = "-_.!+=@#%"
	)
	all := upper + lower + digits + special
	pick := func(set string) byte {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		return set[n.Int64()]
	}
	b := []byte{pick(upper), pick(lower), pick(digits), pick(special)}
	for len(b) < 24 {
		b = append(b, pick(all))
	}
	for i := len(b) - 1; i > 0; i-- { // shuffle so the classes are not in fixed places
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		j := n.Int64()
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}
