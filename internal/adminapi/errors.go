package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// apiError is an error the API itself detects (bad request bodies, bad
// values), with the status to answer.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return errorf(http.StatusBadRequest, format, args...)
}

// fail is the one place that maps errors to HTTP replies. Store sentinels
// become 4xx/507 with the wrapped message, which names the object; any
// other error is logged with its context and answered with a generic 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	status := 0
	msg := oneLine(err.Error())
	switch {
	case errors.As(err, &ae):
		status, msg = ae.status, oneLine(ae.msg)
	case errors.As(err, &mbe):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, store.ErrPermission):
		status = http.StatusForbidden
	case errors.Is(err, store.ErrConflict):
		// Conflict messages always say what clashed ("already exists",
		// "still has 3 users"): the sentinel's own text adds nothing.
		status, msg = http.StatusConflict, strings.TrimSuffix(msg, ": "+store.ErrConflict.Error())
	case errors.Is(err, store.ErrInvalid):
		// Invalid-argument messages say what is wrong with the value.
		status, msg = http.StatusBadRequest, strings.TrimSuffix(msg, ": "+store.ErrInvalid.Error())
	case errors.Is(err, store.ErrOverQuota):
		status = http.StatusInsufficientStorage
	default:
		p := store.PrincipalFrom(r.Context())
		login := ""
		if p != nil {
			login = p.Login
		}
		s.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "user", login, "err", err)
		status, msg = http.StatusInternalServerError, "internal error; the server log has the details"
	}
	writeError(w, status, msg)
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// ErrorBody is the body of every error reply.
type ErrorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		// Only our own types are encoded; this cannot happen.
		b = []byte(`{"error":"internal error: cannot encode the reply"}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decode reads a JSON body of at most maxJSONBody bytes into v. Unknown
// fields are refused, so a misspelt field is an error and not a silent
// no-op.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", mbe.Limit)
		}
		if errors.Is(err, io.EOF) {
			return badRequest("empty request body: a JSON object is required")
		}
		return badRequest("bad request body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", mbe.Limit)
		}
		return badRequest("bad request body: data after the JSON object")
	}
	return nil
}
