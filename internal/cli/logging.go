package cli

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"

	"github.com/sirupsen/logrus"
	"golang.org/x/term"

	"github.com/credrotate/credrotate/pkg/credential/redact"
)

// newTraceID returns a fresh trace id: 16 random hex digits, carried by every
// log line, commit, pull request and alert of one run.
func newTraceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newLogger builds the run's logger: text on a terminal, JSON otherwise (or
// as --log-format says), at --log-level, writing to stderr, with trace_id on
// every line.
func (a *app) newLogger(traceID string) (*logrus.Entry, error) {
	l := logrus.New()
	l.SetOutput(a.stderr)
	lvl, err := logrus.ParseLevel(a.logLevel)
	if err != nil {
		return nil, usageErrorf("--log-level %q is not a level: use debug, info, warn or error", a.logLevel)
	}
	l.SetLevel(lvl)
	format := a.logFormat
	if format == "auto" || format == "" {
		format = "json"
		if isTerminal(a.stderr) {
			format = "text"
		}
	}
	switch format {
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{TimestampFormat: "2006-01-02T15:04:05.000Z07:00"})
	case "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "15:04:05"})
	default:
		return nil, usageErrorf("--log-format %q is not a format: use auto, text or json", a.logFormat)
	}
	return l.WithField("trace_id", traceID), nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := redact.Unwrap(w).(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
