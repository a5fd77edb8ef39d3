package http

import (
	"context"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/mail"
	"github.com/orgauth/orgauth/password"
	"github.com/orgauth/orgauth/token"
)

// The account lifecycle by mail: invitations, password resets, the list of an
// address's organizations, password expiry reminders; and the password policy
// and blocklist that every new password is checked against.

// Outbox is the mail worker: a request that queued mail kicks it once its
// transaction committed.
type Outbox interface {
	Kick()
}

// orgsMailTTL is how long the mail listing an address's organizations may wait
// in the outbox: its links do not expire, but a day-old answer is no answer.
const orgsMailTTL = 24 * time.Hour

// mailQueue wraps the Queries of a write transaction and notes whether it queued
// mail, so that the writer kicks the outbox after the commit.
type mailQueue struct {
	orgauth.Queries
	queued bool
}

// EnqueueMail queues m and notes it.
func (q *mailQueue) EnqueueMail(ctx context.Context, m *orgauth.OutboxMail) error {
	q.queued = true
	return q.Queries.EnqueueMail(ctx, m)
}

// queueMail composes the mail of kind to addr and queues it in tx, to be given
// up at expires.
func (s *Server) queueMail(ctx context.Context, tx orgauth.Queries, kind, tenantID, addr string, data any, expires time.Time) error {
	o, err := s.sealMail(kind, tenantID, addr, data, expires)
	if err != nil {
		return err
	}
	return tx.EnqueueMail(ctx, o)
}

// sealMail composes the mail of kind to addr and makes its outbox entry, to be
// given up at expires.
func (s *Server) sealMail(kind, tenantID, addr string, data any, expires time.Time) (*orgauth.OutboxMail, error) {
	m, err := mail.Compose(kind, addr, data)
	if err != nil {
		return nil, err
	}
	return mail.Seal(s.masterKey, kind, tenantID, m, s.cfg.Now(), expires)
}

// invite makes a fresh activation token for u (superseding older ones) and
// queues the invitation that carries it, in tx. In development mode the link is
// also logged, so the one-command start works without a mail server.
func (s *Server) invite(ctx context.Context, tx orgauth.Queries, t *orgauth.Tenant, u *orgauth.User) error {
	secret, exp, err := s.newUserToken(ctx, tx.InTenant(t.ID), u, orgauth.PurposeActivation, s.cfg.ActivationTTL)
	if err != nil {
		return err
	}
	link := s.link("/activate", secret)
	if s.cfg.Dev {
		s.log.InfoContext(ctx, "invitation (development mode)", "org", t.Name, "email", u.Email, "link", link)
	}
	return s.queueMail(ctx, tx, mail.KindInvitation, t.ID, u.Email, mail.Account{
		Name: u.Name(), Org: t.Name, Link: link, Expires: humanDuration(s.cfg.ActivationTTL),
	}, exp)
}

// sendReset queues, in tx, the mail that lets u choose a new password: a reset
// link, or a fresh invitation when u never activated the account.
func (s *Server) sendReset(ctx context.Context, tx orgauth.Queries, t *orgauth.Tenant, u *orgauth.User) error {
	if !u.Activated {
		return s.invite(ctx, tx, t, u)
	}
	secret, exp, err := s.newUserToken(ctx, tx.InTenant(t.ID), u, orgauth.PurposeReset, s.cfg.ResetTTL)
	if err != nil {
		return err
	}
	return s.queueMail(ctx, tx, mail.KindReset, t.ID, u.Email, mail.Account{
		Name: u.Name(), Org: t.Name, Link: s.link("/reset", secret),
		Expires: humanDuration(s.cfg.ResetTTL),
	}, exp)
}

// newUserToken stores a fresh single-use token of purpose for u, superseding
// older ones, and returns its secret and expiry.
func (s *Server) newUserToken(ctx context.Context, tq orgauth.TenantQueries, u *orgauth.User, purpose string, ttl time.Duration) (string, time.Time, error) {
	now := s.cfg.Now()
	id, secret, hash := token.NewUserToken(s.masterKey, purpose)
	exp := now.Add(ttl)
	err := tq.CreateUserToken(ctx, &orgauth.UserToken{
		ID: id, TenantID: tq.TenantID(), UserID: u.ID, Purpose: purpose,
		Hash: hash, CreatedAt: now, ExpiresAt: exp,
	})
	return secret, exp, err
}

// resetRequest asks for a reset link to every account of the address, in the
// org the request names (?org=, the host, or the only tenant) or, when it names
// none, in every org where the address has an account (behavior.md). The answer
// is 204 whatever the address: the request is queued as it is, in the
// transaction of the audit record, and the outbox worker finds the accounts
// (ExpandMailRequest). A known and an unknown address cost the request the same.
func (s *Server) resetRequest(w http.ResponseWriter, r *http.Request) error {
	var in emailBody
	if err := decode(r, &in); err != nil {
		return err
	}
	email, err := validEmail("emailId", in.EmailID)
	if err != nil {
		return err
	}
	t, err := s.resolveOrg(r, r.URL.Query().Get("org"))
	if err != nil && !isNotFound(err) {
		return err
	}
	req, tenantID := mail.Request{Email: email}, ""
	if t != nil {
		req.Org, tenantID = t.Name, t.ID
	}
	// An org that does not exist has no accounts: nothing to queue. That an org
	// exists is public (GET /v1/auth/org).
	return s.queueRequest(w, r, mail.KindResetRequest, tenantID, req, s.cfg.ResetTTL, !isNotFound(err))
}

// queueRequest answers 204 after queueing the mail request req (when queue is
// set) in the transaction of the audit record.
func (s *Server) queueRequest(w http.ResponseWriter, r *http.Request, kind, tenantID string, req mail.Request, ttl time.Duration, queue bool) error {
	ctx := r.Context()
	err := s.write(w, r, tenantID, "", func(tx orgauth.Queries) error {
		if !queue {
			return nil
		}
		now := s.cfg.Now()
		o, err := mail.SealRequest(s.masterKey, kind, tenantID, req, now, now.Add(ttl))
		if err != nil {
			return err
		}
		return tx.EnqueueMail(ctx, o)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ExpandMailRequest is the outbox's mail.Outbox.Expand: it finds the accounts of
// a queued request and queues their mail, deleting the request in the same
// transaction so that it is expanded once.
func (s *Server) ExpandMailRequest(ctx context.Context, o *orgauth.OutboxMail, req mail.Request) error {
	var t *orgauth.Tenant
	if req.Org != "" {
		var err error
		if t, err = s.tenantByName(ctx, req.Org); isNotFound(err) {
			return ignoreNotFound(s.store.DeleteMail(ctx, o.ID)) // deleted meanwhile
		} else if err != nil {
			return err
		}
	}
	accounts, err := s.accounts(ctx, t, req.Email)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx orgauth.Queries) error {
		if err := tx.DeleteMail(ctx, o.ID); err != nil {
			return err
		}
		switch o.Kind {
		case mail.KindResetRequest:
			for _, a := range accounts {
				recent, err := s.recentlyMailed(ctx, a.user)
				if err != nil {
					return err
				}
				if recent {
					continue
				}
				if err := s.sendReset(ctx, tx, a.tenant, a.user); err != nil {
					return err
				}
			}
			return nil
		case mail.KindOrgsRequest:
			var data mail.Orgs
			for _, a := range accounts {
				if a.user.Activated {
					data.Orgs = append(data.Orgs, mail.Org{Name: a.tenant.Name, LoginURL: s.loginURL(a.tenant)})
				}
			}
			if len(data.Orgs) == 0 {
				return nil
			}
			// Many client addresses asking for one address's list get one mail
			// a minute: a mailbox cannot be flooded through this endpoint. Only
			// this mail records whom it went to (as a MAC), so other rows cannot
			// be linked to one mailbox without the master key.
			addr := accounts[0].user.Email
			rcpt, now := token.MailRecipientMAC(s.masterKey, addr), s.cfg.Now()
			recent, err := tx.MailQueuedSince(ctx, mail.KindOrgs, rcpt, now.Add(-orgsMailGap))
			if err != nil || recent {
				return err
			}
			o, err := s.sealMail(mail.KindOrgs, "", addr, data, now.Add(orgsMailTTL))
			if err != nil {
				return err
			}
			o.Recipient = rcpt
			return tx.EnqueueMail(ctx, o)
		}
		return fmt.Errorf("mail request of unknown kind %q", o.Kind)
	})
	return ignoreNotFound(err) // another worker expanded it first
}

// resetMailGap is how often anonymous requests may mail one account a link.
const resetMailGap = time.Minute

// orgsMailGap is how often anonymous requests may mail one address its list of
// organizations.
const orgsMailGap = time.Minute

// recentlyMailed reports whether u was mailed a reset or activation link less
// than resetMailGap ago: anonymous requests then add no mail, so that many
// client addresses cannot flood one mailbox or keep replacing its link.
func (s *Server) recentlyMailed(ctx context.Context, u *orgauth.User) (bool, error) {
	purpose := orgauth.PurposeReset
	if !u.Activated {
		purpose = orgauth.PurposeActivation
	}
	now := s.cfg.Now()
	t, err := s.store.InTenant(u.TenantID).LatestUserToken(ctx, u.ID, purpose, now)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return now.Sub(t.CreatedAt) < resetMailGap, nil
}

// ignoreNotFound is err, or nil when err is ENOTFOUND.
func ignoreNotFound(err error) error {
	if isNotFound(err) {
		return nil
	}
	return err
}

// account is a user and its tenant.
type account struct {
	tenant *orgauth.Tenant
	user   *orgauth.User
}

// accounts returns the accounts of email that may recover access (tenant
// active, user not disabled): in tenant t, or in every tenant when t is nil.
func (s *Server) accounts(ctx context.Context, t *orgauth.Tenant, email string) ([]account, error) {
	var users []*orgauth.User
	if t != nil {
		u, err := s.store.InTenant(t.ID).UserByEmail(ctx, email)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		if u != nil {
			users = append(users, u)
		}
	} else {
		var err error
		if users, err = s.store.UsersByEmail(ctx, email); err != nil {
			return nil, err
		}
	}
	var out []account
	for _, u := range users {
		if u.Disabled {
			continue
		}
		ut, err := s.tenantByID(ctx, u.TenantID)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if ut.Active {
			out = append(out, account{tenant: ut, user: u})
		}
	}
	return out, nil
}

// orgForgot asks for one mail to the address naming its organizations and
// their login URLs. Always 204; queued like resetRequest.
func (s *Server) orgForgot(w http.ResponseWriter, r *http.Request) error {
	email, err := validEmail("emailId", r.URL.Query().Get("emailId"))
	if err != nil {
		return err
	}
	return s.queueRequest(w, r, mail.KindOrgsRequest, "", mail.Request{Email: email}, orgsMailTTL, true)
}

// activate sets the first password of an invited user.
func (s *Server) activate(w http.ResponseWriter, r *http.Request) error {
	return s.redeem(w, r, orgauth.PurposeActivation)
}

// passwordReset sets a new password with a reset link.
func (s *Server) passwordReset(w http.ResponseWriter, r *http.Request) error {
	return s.redeem(w, r, orgauth.PurposeReset)
}

// redeem uses the mailed token of purpose in the path to set the password of its
// user: checked against the tenant's policy and the blocklist, the token spent,
// the account activated and every session of the user ended, in one transaction.
func (s *Server) redeem(w http.ResponseWriter, r *http.Request, purpose string) error {
	var in passwordActivate
	if err := decode(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	ut, err := s.useToken(ctx, purpose, r.PathValue("passwordToken"))
	if err != nil {
		return err
	}
	u, err := s.store.InTenant(ut.TenantID).User(ctx, ut.UserID)
	if isNotFound(err) || (err == nil && u.Disabled) {
		return errBadLink
	}
	if err != nil {
		return err
	}
	if err := s.checkNewPassword(ctx, ut.TenantID, in.Password); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	var ended []string
	err = s.write(w, r, ut.TenantID, u.ID, func(tx orgauth.Queries) error {
		tq := tx.InTenant(ut.TenantID)
		if err := tq.UseUserToken(ctx, ut.ID, now); err != nil {
			if isNotFound(err) {
				return errBadLink
			}
			return err
		}
		if err := tq.SetPassword(ctx, u.ID, hash, now); err != nil {
			return err
		}
		ended, err = tq.RevokeUserSessions(ctx, u.ID, "", now)
		return err
	})
	if err != nil {
		return err
	}
	s.forgetUser(ctx, ut.TenantID, u.ID)
	s.forgetSessions(ctx, ended...)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// usersPasswordReset mails the user in the path a reset link (or a new
// invitation, if the account is not activated yet): an administrator's way to
// help without ever knowing the password.
func (s *Server) usersPasswordReset(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := principalFrom(ctx)
	u, err := s.targetUser(ctx, s.store.InTenant(p.Tenant.ID), r.PathValue("uid"))
	if err != nil {
		return err
	}
	return s.adminReset(w, r, u)
}

// usersEmailPasswordReset is usersPasswordReset for the user of the caller's
// tenant with the email in the body.
func (s *Server) usersEmailPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var in emailBody
	if err := decode(r, &in); err != nil {
		return err
	}
	email, err := validEmail("emailId", in.EmailID)
	if err != nil {
		return err
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	u, err := s.store.InTenant(p.Tenant.ID).UserByEmail(ctx, email)
	if isNotFound(err) {
		return orgauth.Errorf(orgauth.ENOTFOUND, "user not found")
	}
	if err != nil {
		return err
	}
	return s.adminReset(w, r, u)
}

// adminReset queues the reset mail of u for an administrator of u's tenant who
// may manage u.
func (s *Server) adminReset(w http.ResponseWriter, r *http.Request, u *orgauth.User) error {
	ctx := r.Context()
	p := principalFrom(ctx)
	if err := mayManage(ctx, s.store.InTenant(p.Tenant.ID), p, u); err != nil {
		return err
	}
	if u.Disabled {
		return orgauth.Errorf(orgauth.EINVALID, "the user is disabled; enable the account first")
	}
	err := s.write(w, r, p.Tenant.ID, u.ID, func(tx orgauth.Queries) error {
		return s.sendReset(ctx, tx, p.Tenant, u)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// errCommonPassword refuses a password of the built-in list or the blocklist.
var errCommonPassword = orgauth.Errorf(orgauth.EINVALID, "password is too common or blocked: choose another")

// checkNewPassword checks a password someone is about to set in the tenant: its
// policy (every broken rule named), then the built-in list of common passwords
// and the operator's blocklist.
func (s *Server) checkNewPassword(ctx context.Context, tenantID, pw string) error {
	pol, err := s.passwordPolicy(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := pol.Check(pw); err != nil {
		return err
	}
	if password.Common(pw) {
		return errCommonPassword
	}
	blocked, err := s.store.PasswordBlocked(ctx, token.BlockedPasswordHash(s.masterKey, pw))
	if err != nil {
		return err
	}
	if blocked {
		return errCommonPassword
	}
	return nil
}

// passwordPolicy returns the policy in force in the tenant: its own, or the
// system default. Cached: sign-in reads it for the expiry.
func (s *Server) passwordPolicy(ctx context.Context, tenantID string) (*orgauth.PasswordPolicy, error) {
	if p, ok := s.policies.get(tenantID); ok {
		return p, nil
	}
	gen := s.policies.gen() // a change made while this reads is not overwritten
	p, err := s.store.InTenant(tenantID).PasswordPolicy(ctx)
	if isNotFound(err) {
		p, err = s.store.SystemPasswordPolicy(ctx)
	}
	if err != nil {
		return nil, err
	}
	s.policies.putAt(tenantID, p, time.Time{}, gen)
	return p, nil
}

// errPasswordExpired refuses a sign-in with a right but expired password.
var errPasswordExpired = orgauth.Errorf(orgauth.EEXPIRED,
	"the password has expired: reset it, or change it with PATCH /v1/users/password/change")

// checkExpiry refuses u's password when it expired under the tenant's policy.
// Call it only once the password was found right.
func (s *Server) checkExpiry(pol *orgauth.PasswordPolicy, u *orgauth.User) error {
	if exp, ok := pol.Expires(u.PasswordChangedAt); ok && !s.cfg.Now().Before(exp) {
		return errPasswordExpired
	}
	return nil
}

func (s *Server) tenantPasswordPolicyGet(w http.ResponseWriter, r *http.Request) error {
	t, err := s.tenant(r)
	if err != nil {
		return err
	}
	p, err := s.passwordPolicy(r.Context(), t.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toV1PasswordPolicy(p, false))
	return nil
}

func (s *Server) tenantPasswordPolicyUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1PasswordPolicy
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ReminderFrequency != nil {
		return orgauth.Errorf(orgauth.EINVALID, "unknown field \"reminderFrequency\"")
	}
	t, err := s.tenant(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	cur, err := s.passwordPolicy(ctx, t.ID)
	if err != nil {
		return err
	}
	p := s.newPolicy(cur, &in)
	if err := p.Validate(); err != nil {
		return err
	}
	// The store keeps the creation time of a policy it replaces.
	err = s.write(w, r, t.ID, t.ID, func(tx orgauth.Queries) error {
		return tx.InTenant(t.ID).SetPasswordPolicy(ctx, p)
	})
	if err != nil {
		return err
	}
	s.forget(ctx, msgPolicy+" "+t.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// newPolicy returns cur changed by the fields in gives, stamped now (a stored
// policy it replaces keeps its creation time).
func (s *Server) newPolicy(cur *orgauth.PasswordPolicy, in *v1PasswordPolicy) *orgauth.PasswordPolicy {
	p := *cur
	in.applyTo(&p)
	now := s.cfg.Now()
	p.CreatedAt, p.UpdatedAt = now, now
	return &p
}

func (s *Server) systemPasswordPolicyGet(w http.ResponseWriter, r *http.Request) error {
	p, err := s.store.SystemPasswordPolicy(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toV1PasswordPolicy(p, true))
	return nil
}

func (s *Server) systemPasswordPolicyUpdate(w http.ResponseWriter, r *http.Request) error {
	var in v1PasswordPolicy
	if err := decode(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	cur, err := s.store.SystemPasswordPolicy(ctx)
	if err != nil {
		return err
	}
	p := s.newPolicy(cur, &in)
	if err := p.Validate(); err != nil {
		return err
	}
	err = s.write(w, r, principalFrom(ctx).Tenant.ID, "", func(tx orgauth.Queries) error {
		return tx.SetSystemPasswordPolicy(ctx, p)
	})
	if err != nil {
		return err
	}
	s.forget(ctx, msgPolicy+" *")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// maxBlocklistBatch bounds the passwords of one blocklist request.
const maxBlocklistBatch = 1000

// blocklistHashes reads the passwords of a blocklist request and returns their
// blocklist hashes.
func (s *Server) blocklistHashes(r *http.Request) ([][]byte, error) {
	var in v1PasswordsBlockList
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.Spec == nil || len(in.Spec.Passwords) == 0 {
		return nil, orgauth.Errorf(orgauth.EINVALID, "spec.passwords is required")
	}
	if len(in.Spec.Passwords) > maxBlocklistBatch {
		return nil, orgauth.Errorf(orgauth.EINVALID, "spec.passwords: at most %d at a time", maxBlocklistBatch)
	}
	hashes := make([][]byte, 0, len(in.Spec.Passwords))
	for i, pw := range in.Spec.Passwords {
		if pw == "" || len(pw) > orgauth.MaxPasswordBytes || !utf8.ValidString(pw) {
			return nil, orgauth.Errorf(orgauth.EINVALID, "spec.passwords[%d] must be 1 to %d bytes of UTF-8", i, orgauth.MaxPasswordBytes)
		}
		hashes = append(hashes, token.BlockedPasswordHash(s.masterKey, pw))
	}
	return hashes, nil
}

// blocklistUpdate adds passwords to the blocklist.
func (s *Server) blocklistUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.blocklistChange(w, r, func(ctx context.Context, tx orgauth.Queries, hashes [][]byte) error {
		return tx.BlockPasswords(ctx, hashes, s.cfg.Now())
	})
}

// blocklistDelete removes passwords from the blocklist.
func (s *Server) blocklistDelete(w http.ResponseWriter, r *http.Request) error {
	return s.blocklistChange(w, r, func(ctx context.Context, tx orgauth.Queries, hashes [][]byte) error {
		return tx.UnblockPasswords(ctx, hashes)
	})
}

// blocklistChange applies change to the hashes of the passwords in the body, in
// one audited write.
func (s *Server) blocklistChange(w http.ResponseWriter, r *http.Request, change func(context.Context, orgauth.Queries, [][]byte) error) error {
	hashes, err := s.blocklistHashes(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	err = s.write(w, r, principalFrom(ctx).Tenant.ID, "", func(tx orgauth.Queries) error {
		return change(ctx, tx, hashes)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// reminderBatch is how many reminders one query of SendPasswordReminders takes.
const reminderBatch = 200

// SendPasswordReminders queues a reminder mail to every user whose password
// expires within the reminder window of the policy in force, and reports how
// many it queued. Several instances may run it at once: each reminder is
// claimed by one. It pages through the due users once, each batch starting
// after the last of the one before. The caller runs it periodically.
func (s *Server) SendPasswordReminders(ctx context.Context) (int, error) {
	sys, err := s.store.SystemPasswordPolicy(ctx)
	if err != nil {
		return 0, err
	}
	queued := 0
	defer func() {
		if queued > 0 && s.outbox != nil {
			s.outbox.Kick()
		}
	}()
	now := s.cfg.Now()
	var after *orgauth.PasswordReminder
	for {
		due, err := s.store.DuePasswordReminders(ctx, sys, now, after, reminderBatch)
		if err != nil || len(due) == 0 {
			return queued, err
		}
		for _, d := range due {
			t, err := s.tenantByID(ctx, d.TenantID)
			if isNotFound(err) {
				continue // deleted meanwhile
			}
			if err != nil {
				return queued, err
			}
			sent := false
			err = s.store.Update(ctx, func(tx orgauth.Queries) error {
				ok, err := tx.InTenant(d.TenantID).MarkPasswordReminded(ctx, d.UserID, d.RemindedAt, s.cfg.Now())
				if err != nil || !ok {
					return err
				}
				sent = true
				return s.queueMail(ctx, tx, mail.KindReminder, t.ID, d.Email, mail.Account{
					Name: d.Name, Org: t.Name, Link: s.loginURL(t), Expires: d.ExpiresAt.UTC().Format("2 January 2006"),
				}, d.ExpiresAt)
			})
			if err != nil {
				return queued, err
			}
			if sent {
				queued++
			}
		}
		if len(due) < reminderBatch {
			return queued, nil
		}
		after = due[len(due)-1]
	}
}
