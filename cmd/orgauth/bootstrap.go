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
	"github.com/orgauth/orgauth/bootstrap"
	"github.com/orgauth/orgauth/password"
)

// firstStart creates the system administrator on first start from
// ORGAUTH_ADMIN_EMAIL and ORGAUTH_ADMIN_PASSWORD. Without a password it generates a
// strong one and prints it once to stdout.
func firstStart(ctx context.Context, db orgauth.Store, hasher *password.Hasher, cfg *config, stdout io.Writer, log *slog.Logger) error {
	pw, generated := cfg.AdminPassword, false
	if pw == "" {
		pw, generated = generatePassword(), true
	}
	created, err := bootstrap.Run(ctx, db, hasher, cfg.AdminEmail, pw, time.Now())
	if err != nil || !created {
		return err
	}
	log.Info("created the system administrator", "email", cfg.AdminEmail, "org", bootstrap.SystemOrg)
	if generated {
		fmt.Fprintf(stdout, "\nFirst start: system administrator created.\n  org:      %s\n  email:    %s\n  password: %s\nThis password is shown once; sign in and change it.\n\n", bootstrap.SystemOrg, cfg.AdminEmail, pw)
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
