package emulator

import (
	"fmt"
	"net/http"
	"time"
)

// FaultKind is what a scripted fault does to a call.
type FaultKind string

// The fault kinds.
const (
	// FaultRateLimit answers 429 (429.01) with Retry-After.
	FaultRateLimit FaultKind = "rate-limit"
	// FaultServerError answers 500 (500.01).
	FaultServerError FaultKind = "server-error"
	// FaultUnavailable answers 503 (503.01), with Retry-After when set.
	FaultUnavailable FaultKind = "unavailable"
	// FaultGatewayTimeout answers 504 (504.01) without performing the call.
	FaultGatewayTimeout FaultKind = "gateway-timeout"
	// FaultStall holds the request for Stall (default 1 min) or until the
	// client gives up, then answers 504 without performing the call.
	FaultStall FaultKind = "stall"
	// FaultMalformed answers 200 with a body that does not parse.
	FaultMalformed FaultKind = "malformed"
	// FaultDropResponse performs the call, then answers 504: the response
	// was lost on its way back.
	FaultDropResponse FaultKind = "drop-response"
)

// FaultKinds lists every fault kind.
var FaultKinds = []FaultKind{FaultRateLimit, FaultServerError, FaultUnavailable, FaultGatewayTimeout, FaultStall, FaultMalformed, FaultDropResponse}

func (k FaultKind) valid() bool {
	for _, v := range FaultKinds {
		if k == v {
			return true
		}
	}
	return false
}

// DefaultStall is how long a stall fault holds a request by default.
const DefaultStall = time.Minute

// DefaultRetryAfter is the Retry-After of a rate-limit fault by default.
const DefaultRetryAfter = time.Second

// Fault scripts the next Count calls to Op (REST or SOAP).
type Fault struct {
	Op         Op
	Kind       FaultKind
	Count      int           // the next N calls; default 1
	RetryAfter time.Duration // rate-limit (default 1 s) and unavailable
	Stall      time.Duration // stall; default 1 min
}

// Validate reports whether f names a known operation and kind.
func (f Fault) Validate() error {
	if !f.Op.valid() {
		return fmt.Errorf("unknown operation %q (want token, describe, renew or revoke)", f.Op)
	}
	if !f.Kind.valid() {
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Count < 0 || f.RetryAfter < 0 || f.Stall < 0 {
		return fmt.Errorf("fault count and durations must not be negative")
	}
	return nil
}

// Script queues f after the faults already scripted for f.Op. It panics on
// an invalid fault, which is a bug in the test that scripts it; the HTTP
// control validates instead.
func (e *Emulator) Script(f Fault) {
	if err := f.Validate(); err != nil {
		panic("emulator: " + err.Error())
	}
	if f.Count == 0 {
		f.Count = 1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults[f.Op] = append(e.faults[f.Op], f)
}

// ClearFaults drops every scripted fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = map[Op][]Fault{}
}

func (e *Emulator) popFaultLocked(op Op) (Fault, bool) {
	q := e.faults[op]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	q[0].Count--
	if q[0].Count <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(e.faults, op)
	} else {
		e.faults[op] = q
	}
	return f, true
}

var (
	errServer     = &apiError{status: http.StatusInternalServerError, code: "500.01", desc: "internal server error"}
	errGatewayTTL = &apiError{status: http.StatusGatewayTimeout, code: "504.01", desc: "gateway timeout"}
)

func (e *Emulator) applyFault(r *http.Request, rt routed, f Fault) *reply {
	switch f.Kind {
	case FaultRateLimit:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = DefaultRetryAfter
		}
		return rt.fail(&apiError{status: http.StatusTooManyRequests, code: "429.01", desc: "too many requests", retryAfter: ra})
	case FaultServerError:
		return rt.fail(errServer)
	case FaultUnavailable:
		return rt.fail(&apiError{status: http.StatusServiceUnavailable, code: "503.01", desc: "service unavailable", retryAfter: f.RetryAfter})
	case FaultGatewayTimeout:
		return rt.fail(errGatewayTTL)
	case FaultStall:
		d := f.Stall
		if d <= 0 {
			d = DefaultStall
		}
		e.sleepCtx(r.Context(), d)
		return rt.fail(errGatewayTTL)
	case FaultMalformed:
		return rt.malformed()
	case FaultDropResponse:
		done := rt.run()
		rp := rt.fail(errGatewayTTL)
		rp.client = done.client
		rp.code = "504.01 (dropped " + fmt.Sprint(done.status) + ")"
		return rp
	}
	return rt.fail(errServer)
}
