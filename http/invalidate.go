package http

import (
	"context"
	"encoding/hex"
	"strings"

	"github.com/orgauth/orgauth"
)

// Bus carries cache invalidations to the other instances that share the database.
// A single instance needs none. The postgres package implements it with
// LISTEN/NOTIFY; whoever receives a message of another instance hands it to
// Server.Invalidate, and calls Server.Flush whenever messages may have been lost
// (on every (re)connection).
type Bus interface {
	Publish(ctx context.Context, msg string) error
}

// Invalidation messages: a kind and its keys, separated by spaces.
const (
	msgUser          = "user"    // tenantID userID: the user, their API keys and sessions
	msgSession       = "session" // sessionID
	msgAPIKey        = "apikey"  // hex of the key hash
	msgTenant        = "tenant"  // tenantID name: the tenant's settings
	msgTenantDeleted = "tenant-deleted"
	msgAuthz         = "authz"  // tenantID ["users"]: the tenant's teams or custom roles changed (and its users' role lists)
	msgPolicy        = "policy" // tenantID, or * for the system default: the password policy in force
)

// forget drops cached state made stale by a write of this instance, here at once
// and, through the bus, on every other instance.
func (s *Server) forget(ctx context.Context, msgs ...string) {
	for _, m := range msgs {
		s.Invalidate(m)
		if s.bus != nil {
			if err := s.bus.Publish(context.WithoutCancel(ctx), m); err != nil {
				// The other instances' caches expire within their TTL anyway.
				s.log.WarnContext(ctx, "publishing a cache invalidation", "err", err)
			}
		}
	}
}

func (s *Server) forgetUser(ctx context.Context, tenantID, userID string) {
	s.forget(ctx, msgUser+" "+tenantID+" "+userID)
}

func (s *Server) forgetSessions(ctx context.Context, ids ...string) {
	for _, id := range ids {
		s.forget(ctx, msgSession+" "+id)
	}
}

func (s *Server) forgetAPIKey(ctx context.Context, hash []byte) {
	s.forget(ctx, msgAPIKey+" "+hex.EncodeToString(hash))
}

// forgetAuthz drops what every user of the tenant holds, after a change of its
// teams or custom roles.
func (s *Server) forgetAuthz(ctx context.Context, tenantID string) {
	s.forget(ctx, msgAuthz+" "+tenantID)
}

// forgetAuthzAndUsers is forgetAuthz after a change that also rewrote the role
// lists of the tenant's users (a role deleted).
func (s *Server) forgetAuthzAndUsers(ctx context.Context, tenantID string) {
	s.forget(ctx, msgAuthz+" "+tenantID+" users")
}

func (s *Server) forgetTenant(ctx context.Context, t *orgauth.Tenant) {
	s.forget(ctx, msgTenant+" "+t.ID+" "+t.Name)
}

// Invalidate applies one invalidation message. Unknown messages are ignored.
func (s *Server) Invalidate(msg string) {
	f := strings.Fields(msg)
	if len(f) < 2 {
		return
	}
	s.invalidateSSO(f)
	switch {
	case f[0] == msgHits:
		s.applyHits(f)
	case f[0] == msgUser && len(f) == 3:
		tenantID, userID := f[1], f[2]
		s.users.del(tenantID + "/" + userID)
		s.grantCache.del(tenantID + "/" + userID)
		s.sessions.delIf(func(_ string, v *orgauth.Session) bool { return v.UserID == userID })
		s.apiKeys.delIf(func(_ string, k *orgauth.APIKey) bool { return k.UserID == userID })
	case f[0] == msgSession:
		s.sessions.del(f[1])
	case f[0] == msgAPIKey:
		if h, err := hex.DecodeString(f[1]); err == nil {
			s.apiKeys.del(string(h))
		}
	case f[0] == msgTenant && len(f) == 3:
		s.tenants.del(f[2])
		s.tenantIDs.del(f[1])
		s.tenantN.Store(-1)
	case f[0] == msgPolicy && f[1] == "*":
		s.policies.clear()
	case f[0] == msgPolicy:
		s.policies.del(f[1])
	case f[0] == msgAuthz:
		s.bumpAuthz(f[1])
		if len(f) > 2 && f[2] == "users" {
			prefix := f[1] + "/"
			s.users.delIf(func(k string, _ *orgauth.User) bool { return strings.HasPrefix(k, prefix) })
		}
	case f[0] == msgTenantDeleted:
		tenantID := f[1]
		s.tenants.delIf(func(_ string, t *orgauth.Tenant) bool { return t.ID == tenantID })
		s.tenantIDs.del(tenantID)
		s.tenantN.Store(-1)
		s.policies.del(tenantID)
		s.users.delIf(func(k string, _ *orgauth.User) bool { return strings.HasPrefix(k, tenantID+"/") })
		s.bumpAuthz(tenantID)
		s.sessions.delIf(func(_ string, v *orgauth.Session) bool { return v.TenantID == tenantID })
		s.apiKeys.delIf(func(_ string, k *orgauth.APIKey) bool { return k.TenantID == tenantID })
	}
}

// Flush drops every cached object. Verified token signatures stay: they do not
// change, and every use still checks the session.
func (s *Server) Flush() {
	s.tenants.clear()
	s.tenantIDs.clear()
	s.sessions.clear()
	s.users.clear()
	s.grantCache.clear()
	s.policies.clear()
	s.apiKeys.clear()
	s.tenantN.Store(-1)
	s.flushSSO()
}
