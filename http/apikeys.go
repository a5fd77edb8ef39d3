package http

import (
	"context"
	"net/http"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/token"
)

// API key lifetimes: the default when none is asked for, and the longest allowed.
const (
	apiKeyDefaultTTL = 30 * 24 * time.Hour
	apiKeyMaxTTL     = 366 * 24 * time.Hour
	maxKeysPerUser   = 100
)

func (s *Server) toV1ApiKey(ctx context.Context, tenantID string, k *orgauth.APIKey) v1ApiKey {
	v := v1ApiKey{
		Metadata: v1ObjectMeta{
			UID: k.ID, Name: k.Name, Annotations: k.Annotations,
			CreationTimestamp: v1Time(k.CreatedAt), LastModifiedTimestamp: v1Time(k.UpdatedAt),
		},
		Spec:   v1ApiKeySpec{Expiry: v1Time(k.ExpiresAt), User: v1ApiKeyUser{UID: k.UserID}},
		Status: v1ApiKeyStatus{IsActive: k.Usable(s.cfg.Now())},
	}
	if u, err := s.user(ctx, tenantID, k.UserID); err == nil {
		v.Spec.User.FirstName, v.Spec.User.LastName = u.FirstName, u.LastName
	}
	return v
}

// apiKeysList lists the tenant's keys, or only the caller's own without apiKey.list.
func (s *Server) apiKeysList(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	owner := ""
	if p.SelfOnly {
		owner = p.User.ID
	}
	keys, err := s.store.InTenant(p.Tenant.ID).ListAPIKeys(r.Context(), owner)
	if err != nil {
		return err
	}
	out := v1ApiKeys{Items: make([]v1ApiKey, 0, len(keys))}
	for _, k := range keys {
		out.Items = append(out.Items, s.toV1ApiKey(r.Context(), p.Tenant.ID, k))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// expiry checks a requested key expiry: in the future, at most a year away.
func (s *Server) expiry(t *time.Time) (time.Time, error) {
	now := s.cfg.Now()
	if t == nil || t.IsZero() {
		return now.Add(apiKeyDefaultTTL), nil
	}
	if !t.After(now) || t.After(now.Add(apiKeyMaxTTL)) {
		return time.Time{}, orgauth.Errorf(orgauth.EINVALID, "spec.expiry must be in the future and at most 366 days away")
	}
	return t.UTC(), nil
}

// apiKeysCreate creates a key for the caller, or for another user of the tenant
// with apiKey.create. The secret is in this answer only.
func (s *Server) apiKeysCreate(w http.ResponseWriter, r *http.Request) error {
	var in v1ApiKeyEntity
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Metadata == nil {
		return orgauth.Errorf(orgauth.EINVALID, "metadata.name is required")
	}
	name, err := validName("metadata.name", in.Metadata.Name, true)
	if err != nil {
		return err
	}
	if err := validMap("metadata.annotations", in.Metadata.Annotations); err != nil {
		return err
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	owner := p.User.ID
	var exp *time.Time
	if in.Spec != nil {
		exp = in.Spec.Expiry
		if in.Spec.UserUID != "" {
			owner = in.Spec.UserUID
		}
	}
	expires, err := s.expiry(exp)
	if err != nil {
		return err
	}
	if !p.mayActOn(owner) {
		return orgauth.Errorf(orgauth.EFORBIDDEN, "permission %s is required to create keys for other users", orgauth.PermAPIKeyCreate)
	}
	secret, hash := token.NewAPIKey()
	now := s.cfg.Now()
	k := &orgauth.APIKey{
		ID: orgauth.NewID(), TenantID: p.Tenant.ID, UserID: owner, Name: name,
		Annotations: in.Metadata.Annotations, Hash: hash, Active: true, ExpiresAt: expires,
		CreatedAt: now, UpdatedAt: now,
	}
	if owner != p.User.ID {
		// The key never acts with more than its maker holds (see apiKeyPrincipal).
		k.CreatedBy = p.User.ID
	}
	err = s.write(w, r, p.Tenant.ID, k.ID, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		u, err := tq.User(ctx, owner)
		if isNotFound(err) || (err == nil && !u.Active()) {
			return orgauth.Errorf(orgauth.ENOTFOUND, "user not found or not active")
		}
		if err != nil {
			return err
		}
		if err := mayManage(ctx, tq, p, u); err != nil {
			return err
		}
		keys, err := tq.ListAPIKeys(ctx, owner)
		if err != nil {
			return err
		}
		if len(keys) >= maxKeysPerUser {
			return orgauth.Errorf(orgauth.EINVALID, "a user may have at most %d API keys; delete unused ones", maxKeysPerUser)
		}
		return tq.CreateAPIKey(ctx, k)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v1ApiKeyCreateResponse{APIKey: secret, UID: k.ID})
	return nil
}

// targetKey loads the key of the path; a caller acting only on itself sees only its
// own keys (others are not found).
func (s *Server) targetKey(ctx context.Context, tq orgauth.TenantQueries, id string) (*orgauth.APIKey, error) {
	k, err := tq.APIKey(ctx, id)
	if err == nil && !principalFrom(ctx).mayActOn(k.UserID) {
		err = orgauth.Errorf(orgauth.ENOTFOUND, "API key not found")
	}
	if isNotFound(err) {
		return nil, orgauth.Errorf(orgauth.ENOTFOUND, "API key not found")
	}
	return k, err
}

// mayManageOwner checks that the caller may manage the owner of key k.
func (s *Server) mayManageOwner(ctx context.Context, tq orgauth.TenantQueries, k *orgauth.APIKey) error {
	p := principalFrom(ctx)
	if k.UserID == p.User.ID {
		return nil
	}
	owner, err := tq.User(ctx, k.UserID)
	if err != nil {
		return err
	}
	return mayManage(ctx, tq, p, owner)
}

func (s *Server) apiKeysGet(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	k, err := s.targetKey(r.Context(), s.store.InTenant(p.Tenant.ID), r.PathValue("uid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toV1ApiKey(r.Context(), p.Tenant.ID, k))
	return nil
}

// updateKey applies change to the key of the path in one audited write.
func (s *Server) updateKey(w http.ResponseWriter, r *http.Request, change func(k *orgauth.APIKey) error) error {
	p := principalFrom(r.Context())
	id := r.PathValue("uid")
	var hash []byte
	err := s.write(w, r, p.Tenant.ID, id, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		k, err := s.targetKey(r.Context(), tq, id)
		if err != nil {
			return err
		}
		if err := s.mayManageOwner(r.Context(), tq, k); err != nil {
			return err
		}
		if err := change(k); err != nil {
			return err
		}
		k.UpdatedAt = s.cfg.Now()
		hash = k.Hash
		return tq.UpdateAPIKey(r.Context(), k)
	})
	if err != nil {
		return err
	}
	s.forgetAPIKey(r.Context(), hash)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiKeysUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1ApiKeyUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.updateKey(w, r, func(k *orgauth.APIKey) error {
		if in.Metadata != nil {
			if in.Metadata.Name != "" {
				name, err := validName("metadata.name", in.Metadata.Name, true)
				if err != nil {
					return err
				}
				k.Name = name
			}
			if in.Metadata.Annotations != nil {
				if err := validMap("metadata.annotations", in.Metadata.Annotations); err != nil {
					return err
				}
				k.Annotations = in.Metadata.Annotations
			}
		}
		if in.Spec != nil && in.Spec.Expiry != nil {
			if !s.cfg.Now().Before(k.ExpiresAt) {
				return orgauth.Errorf(orgauth.EINVALID, "the key has expired; create a new one")
			}
			exp, err := s.expiry(in.Spec.Expiry)
			if err != nil {
				return err
			}
			k.ExpiresAt = exp
		}
		return nil
	})
}

// apiKeysSetState revokes or re-activates a key. An expired key stays dead.
func (s *Server) apiKeysSetState(w http.ResponseWriter, r *http.Request) error {
	var in v1ApiKeyActiveState
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.IsActive == nil {
		return orgauth.Errorf(orgauth.EINVALID, "isActive is required")
	}
	return s.updateKey(w, r, func(k *orgauth.APIKey) error {
		if *in.IsActive && !s.cfg.Now().Before(k.ExpiresAt) {
			return orgauth.Errorf(orgauth.EINVALID, "the key has expired and cannot be activated; create a new one")
		}
		k.Active = *in.IsActive
		return nil
	})
}

func (s *Server) apiKeysDelete(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	id := r.PathValue("uid")
	var hash []byte
	err := s.write(w, r, p.Tenant.ID, id, func(tx orgauth.Queries) error {
		tq := tx.InTenant(p.Tenant.ID)
		k, err := s.targetKey(r.Context(), tq, id)
		if err != nil {
			return err
		}
		if err := s.mayManageOwner(r.Context(), tq, k); err != nil {
			return err
		}
		hash = k.Hash
		return tq.DeleteAPIKey(r.Context(), id)
	})
	if err != nil {
		return err
	}
	s.forgetAPIKey(r.Context(), hash)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
