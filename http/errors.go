package http

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/orgauth/orgauth"
)

// codes maps each error code to its HTTP status. This is the only place that does.
var codes = map[string]int{
	orgauth.EINVALID:      http.StatusBadRequest,
	orgauth.ECREDENTIALS:  http.StatusUnauthorized,
	orgauth.EUNAUTHORIZED: http.StatusUnauthorized,
	orgauth.EFORBIDDEN:    http.StatusForbidden,
	orgauth.EEXPIRED:      http.StatusForbidden,
	orgauth.ENOTFOUND:     http.StatusNotFound,
	orgauth.EMETHOD:       http.StatusMethodNotAllowed,
	orgauth.ECONFLICT:     http.StatusConflict,
	orgauth.ETOOMANY:      http.StatusTooManyRequests,
	orgauth.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	orgauth.EUNAVAILABLE:  http.StatusServiceUnavailable,
	orgauth.EINTERNAL:     http.StatusInternalServerError,
}

// errorBody is the Palette error shape.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref"`
	Details any    `json:"details,omitempty"`
}

// writeError answers with err in the Palette error shape. An error that is not an
// *orgauth.Error is logged with the request id and answered as a bare 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := orgauth.ErrorCode(err)
	status, ok := codes[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	body := errorBody{Code: code, Message: orgauth.ErrorMessage(err), Ref: requestID(r.Context())}
	var e *orgauth.Error
	if errors.As(err, &e) {
		body.Details = e.Details
	}
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "err", err, "request_id", body.Ref)
	}
	if (code == orgauth.ETOOMANY || code == orgauth.EUNAVAILABLE) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		if err := json.NewEncoder(w).Encode(v); err != nil {
			slog.Debug("write response", "err", err)
		}
	}
}
