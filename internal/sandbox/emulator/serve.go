package emulator

import (
	"net/http"
	"strconv"
	"time"
)

// maxBody caps every request body the emulator reads.
const maxBody = 64 << 10

// reply is a response before it is written, so a scripted fault can replace
// it after the operation took effect.
type reply struct {
	status int
	header http.Header
	body   []byte
	client string // for the log line
	code   string // error code, for the log line
}

func (rp *reply) set(k, v string) {
	if rp.header == nil {
		rp.header = http.Header{}
	}
	rp.header.Set(k, v)
}

func writeReply(w http.ResponseWriter, rp *reply) {
	for k, vs := range rp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if rp.body != nil && w.Header().Get("Content-Length") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(rp.body)))
	}
	w.WriteHeader(rp.status)
	if len(rp.body) > 0 {
		_, _ = w.Write(rp.body)
	}
}

// routed is a request matched to a contract operation by its transport.
type routed struct {
	op     Op
	client string
	// run performs the operation; nil when the request is not a contract
	// call at all (wrong method, unknown path), answered by rep.
	run func() *reply
	rep *reply
	// fail renders a contract error the transport's way.
	fail func(*apiError) *reply
	// malformed renders a 200 whose body does not parse.
	malformed func() *reply
}

// serveContract runs one contract call: count it, wait the injected latency,
// apply a scripted fault, perform the operation, write and log the answer.
func (e *Emulator) serveContract(w http.ResponseWriter, r *http.Request, transport string, route func(*http.Request) routed) {
	start := time.Now()
	rt := route(r)
	var rp *reply
	defer func() {
		if rp != nil {
			e.logCall(transport, rt.op, rp, w.Header().Get("efx-transaction-id"), time.Since(start))
		}
	}()
	if rt.run == nil {
		rp = rt.rep
		writeReply(w, rp)
		return
	}
	done, finish := e.serveHostile(w, r, rt)
	if done {
		return
	}
	e.mu.Lock()
	e.calls[rt.op]++
	latency := e.latency
	f, faulted := e.popFaultLocked(rt.op)
	e.mu.Unlock()

	if !e.sleepCtx(r.Context(), latency) {
		rp = rt.fail(&apiError{status: http.StatusServiceUnavailable, code: "503.01", desc: "service unavailable"})
		rp.client = rt.client
		writeReply(w, rp)
		return
	}
	if faulted {
		rp = e.applyFault(r, rt, f)
	} else {
		rp = rt.run()
	}
	if rp.client == "" {
		rp.client = rt.client
	}
	if finish != nil {
		hostile := finish(rp)
		if hostile == nil {
			return // written by the hostile mode
		}
		rp = hostile
	}
	writeReply(w, rp)
}

func (e *Emulator) logCall(transport string, op Op, rp *reply, txID string, took time.Duration) {
	if e.opts.Logf == nil {
		return
	}
	if op == "" {
		op = "-"
	}
	client, code := rp.client, rp.code
	if client == "" {
		client = "-"
	}
	if code == "" {
		code = "-"
	}
	e.opts.Logf("%s %s client=%s status=%d code=%s efx-transaction-id=%s took=%s",
		transport, op, client, rp.status, code, txID, took.Round(time.Millisecond))
}
