package http

import (
	"context"
	"net/http"

	"github.com/orgauth/orgauth"
)

// write runs fn in one transaction together with the audit record of the request's
// operation, and names that record in the AuditUid header. When fn fails nothing
// of it is kept, and a record of the failed attempt is written instead.
func (s *Server) write(w http.ResponseWriter, r *http.Request, tenantID, target string, fn func(tx orgauth.Queries) error) error {
	ctx := r.Context()
	rec := s.auditRecord(ctx, r, tenantID, target)
	var queued bool
	err := s.store.Update(ctx, func(tx orgauth.Queries) error {
		mq := &mailQueue{Queries: tx}
		if err := fn(mq); err != nil {
			return err
		}
		queued = mq.queued
		return tx.AddAudit(ctx, rec)
	})
	if err != nil {
		rec.ID, rec.Outcome = orgauth.NewID(), "failure"
		if aerr := s.store.AddAudit(context.WithoutCancel(ctx), rec); aerr != nil {
			s.log.ErrorContext(ctx, "audit failed write", "err", aerr, "request_id", rec.RequestID)
		}
		return err
	}
	if queued && s.outbox != nil {
		s.outbox.Kick()
	}
	w.Header()["AuditUid"] = []string{rec.ID} // the spec's spelling, not canonicalized
	return nil
}

func (s *Server) auditRecord(ctx context.Context, r *http.Request, tenantID, target string) *orgauth.AuditRecord {
	rec := &orgauth.AuditRecord{
		ID:        orgauth.NewID(),
		TenantID:  tenantID,
		Target:    target,
		Outcome:   "success",
		RequestID: requestID(ctx),
		ClientIP:  clientAddr(r),
		CreatedAt: s.cfg.Now(),
	}
	if rt := routeFrom(ctx); rt != nil {
		rec.Action = rt.op
	}
	if p := principalFrom(ctx); p != nil {
		rec.ActorID = p.User.ID
	}
	return rec
}

// auditList pages through the audit trail of the caller's tenant, newest first
// (beyond the spec: GET /v1/audit).
func (s *Server) auditList(w http.ResponseWriter, r *http.Request) error {
	if err := noFilters(r); err != nil {
		return err
	}
	pg, err := page(r)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	recs, next, err := s.store.InTenant(p.Tenant.ID).ListAudit(r.Context(), pg)
	if err != nil {
		return err
	}
	out := v1AuditRecords{Items: make([]v1AuditRecord, 0, len(recs)), Listmeta: listMeta(pg, len(recs), next)}
	for _, rec := range recs {
		out.Items = append(out.Items, v1AuditRecord{
			UID: rec.ID, TenantUID: rec.TenantID, ActorUID: rec.ActorID, Action: rec.Action,
			Target: rec.Target, Outcome: rec.Outcome, RequestID: rec.RequestID, ClientIP: rec.ClientIP,
			Timestamp: v1Time(rec.CreatedAt),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
