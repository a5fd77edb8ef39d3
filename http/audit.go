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
	err := s.store.Update(ctx, func(tx orgauth.Queries) error {
		if err := fn(tx); err != nil {
			return err
		}
		return tx.AddAudit(ctx, rec)
	})
	if err != nil {
		rec.ID, rec.Outcome = orgauth.NewID(), "failure"
		if aerr := s.store.AddAudit(context.WithoutCancel(ctx), rec); aerr != nil {
			s.log.ErrorContext(ctx, "audit failed write", "err", aerr, "request_id", rec.RequestID)
		}
		return err
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
