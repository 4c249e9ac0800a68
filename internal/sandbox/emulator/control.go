package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Loopback reports whether an http.Request's RemoteAddr is a loopback peer.
func Loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func controlError(status int, code, desc string) *reply {
	return restError(&apiError{status: status, code: code, desc: desc})
}

// seedRequest is the body of POST /__emulator/clients.
type seedRequest struct {
	ClientID  string     `json:"clientId"`
	Secret    string     `json:"secret"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

// clockRequest is the body of POST /__emulator/clock.
type clockRequest struct {
	Advance string     `json:"advance"`
	Set     *time.Time `json:"set"`
}

type clockResponse struct {
	Now time.Time `json:"now"`
}

// faultRequest is the body of POST /__emulator/faults.
type faultRequest struct {
	Op                string    `json:"op"`
	Kind              FaultKind `json:"kind"`
	Count             int       `json:"count"`
	RetryAfterSeconds int64     `json:"retryAfterSeconds"`
	Stall             string    `json:"stall"`
}

type latencyRequest struct {
	Latency string `json:"latency"`
}

// decodeStrict decodes one JSON object with only known fields.
func decodeStrict(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("request body is not valid: " + jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("request body holds more than one JSON value")
	}
	return nil
}

// serveControl serves /__emulator/, to loopback peers only.
func (e *Emulator) serveControl(w http.ResponseWriter, r *http.Request) {
	if !Loopback(r.RemoteAddr) {
		writeReply(w, controlError(http.StatusForbidden, "403.01", "the emulator controls answer loopback peers only"))
		return
	}
	writeReply(w, e.control(r))
}

func (e *Emulator) control(r *http.Request) *reply {
	path := strings.TrimPrefix(r.URL.Path, ControlPrefix)
	method := func(m string) *reply {
		if r.Method != m {
			return restError(methodNotAllowed(m))
		}
		return nil
	}
	bad := func(err error) *reply { return controlError(http.StatusBadRequest, "400.01", err.Error()) }
	switch path {
	case "clients":
		if rp := method(http.MethodPost); rp != nil {
			return rp
		}
		var req seedRequest
		if err := decodeStrict(r, &req); err != nil {
			return bad(err)
		}
		var exp time.Time
		if req.ExpiresAt != nil {
			exp = *req.ExpiresAt
		}
		info, err := e.SeedClient(req.ClientID, req.Secret, exp)
		if errors.Is(err, ErrClientExists) {
			return controlError(http.StatusConflict, "409.00", err.Error())
		}
		if err != nil {
			return bad(err)
		}
		return jsonReply(http.StatusCreated, info)
	case "clock":
		if r.Method == http.MethodGet {
			return jsonReply(http.StatusOK, clockResponse{Now: e.Now()})
		}
		if rp := method(http.MethodPost); rp != nil {
			return rp
		}
		var req clockRequest
		if err := decodeStrict(r, &req); err != nil {
			return bad(err)
		}
		switch {
		case req.Advance != "" && req.Set != nil, req.Advance == "" && req.Set == nil:
			return bad(errors.New(`give one of "advance" (a duration) or "set" (an RFC 3339 time)`))
		case req.Set != nil:
			e.SetNow(*req.Set)
		default:
			d, err := time.ParseDuration(req.Advance)
			if err != nil {
				return bad(errors.New(`"advance" must be a duration such as "24h"`))
			}
			e.Advance(d)
		}
		return jsonReply(http.StatusOK, clockResponse{Now: e.Now()})
	case "faults":
		if r.Method == http.MethodDelete {
			e.ClearFaults()
			return &reply{status: http.StatusNoContent}
		}
		if rp := method(http.MethodPost); rp != nil {
			return rp
		}
		var req faultRequest
		if err := decodeStrict(r, &req); err != nil {
			return bad(err)
		}
		f := Fault{Op: Op(req.Op), Kind: req.Kind, Count: req.Count, RetryAfter: time.Duration(req.RetryAfterSeconds) * time.Second}
		if req.Stall != "" {
			d, err := time.ParseDuration(req.Stall)
			if err != nil {
				return bad(errors.New(`"stall" must be a duration such as "90s"`))
			}
			f.Stall = d
		}
		if err := f.Validate(); err != nil {
			return bad(err)
		}
		e.Script(f)
		return &reply{status: http.StatusNoContent}
	case "latency":
		if rp := method(http.MethodPost); rp != nil {
			return rp
		}
		var req latencyRequest
		if err := decodeStrict(r, &req); err != nil {
			return bad(err)
		}
		d, err := time.ParseDuration(req.Latency)
		if err != nil || d < 0 {
			return bad(errors.New(`"latency" must be a non-negative duration such as "50ms"`))
		}
		e.SetLatency(d)
		return &reply{status: http.StatusNoContent}
	case "calls":
		if rp := method(http.MethodGet); rp != nil {
			return rp
		}
		return jsonReply(http.StatusOK, e.CallCounts())
	case "calls/reset":
		if rp := method(http.MethodPost); rp != nil {
			return rp
		}
		e.ResetCalls()
		return &reply{status: http.StatusNoContent}
	case "warmup":
		return e.warmupControl(r)
	case "hostile":
		return e.controlHostile(r)
	case "state":
		if rp := method(http.MethodGet); rp != nil {
			return rp
		}
		return jsonReply(http.StatusOK, e.State())
	}
	return restError(errNoResource)
}
