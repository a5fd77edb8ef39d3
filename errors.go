package orgauth

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the http package and nowhere else.
const (
	EINVALID      = "ValidationFailed"   // the request is malformed or breaks a rule
	ECREDENTIALS  = "InvalidCredentials" // sign-in failed (never says why)
	EUNAUTHORIZED = "Unauthorized"       // no valid credentials
	EFORBIDDEN    = "Forbidden"          // authenticated but not allowed
	ENOTFOUND     = "NotFound"           // no such object (or not visible to the caller)
	EMETHOD       = "MethodNotAllowed"   // the path exists, the method does not
	ECONFLICT     = "Conflict"           // the object already exists or changed
	ETOOMANY      = "TooManyRequests"    // rate limited or overloaded
	EEXPIRED      = "PasswordExpired"    // the password was right but has expired
	ETOOLARGE     = "RequestTooLarge"    // the request body is over the limit
	EUNAVAILABLE  = "ServiceUnavailable" // temporarily unable to serve
	EINTERNAL     = "Internal"           // a bug or an unexpected failure
)

// Error is an error with a code and a message that is safe to show to the client.
// Anything that is not an *Error is an internal error: its text goes to the log only.
type Error struct {
	Code    string
	Message string
	Details any // optional structured details for the client
}

func (e *Error) Error() string { return fmt.Sprintf("orgauth: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, else EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err, or "internal error".
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
