package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is OpenAI's error body: {"error": {"message", "type", "param",
// "code"}}.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// httpError is an error answered with a status, OpenAI's error type and,
// where they apply, the request field at fault and a machine-readable code.
type httpError struct {
	status     int
	msg        string
	param      string
	code       string
	retryAfter int // seconds; sets Retry-After when > 0
}

func (e *httpError) Error() string { return e.msg }

// badRequest is a 400 about the request as a whole.
func badRequest(format string, a ...any) *httpError {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

// badParam is a 400 naming the field at fault, with code "invalid_value"
// unless code says otherwise.
func badParam(param, format string, a ...any) *httpError {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...), param: param, code: "invalid_value"}
}

// unsupported is a 400 for a field glmv understands but cannot honour.
func unsupported(param, why string) *httpError {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("%s is not supported: %s", param, why), param: param, code: "unsupported_parameter"}
}

func (e *httpError) body() apiError {
	var b apiError
	b.Error.Message = e.msg
	switch {
	case e.status == http.StatusUnauthorized:
		b.Error.Type = "authentication_error"
	case e.status == http.StatusNotFound:
		b.Error.Type = "not_found_error"
	case e.status == http.StatusTooManyRequests:
		b.Error.Type = "rate_limit_error"
	case e.status >= 500:
		b.Error.Type = "server_error"
	default:
		b.Error.Type = "invalid_request_error"
	}
	if e.param != "" {
		p := e.param
		b.Error.Param = &p
	}
	if e.code != "" {
		c := e.code
		b.Error.Code = &c
	}
	return b
}

// writeErr answers err: an *httpError with its status, anything else as
// a 500.
func writeErr(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = &httpError{status: http.StatusInternalServerError, msg: err.Error()}
	}
	if he.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(he.retryAfter))
	}
	writeJSON(w, he.status, he.body())
}

// writeError answers a plain error message with a status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeErr(w, &httpError{status: status, msg: msg})
}
