package sandboxcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// callLog writes one timestamped line per call of a server, serialised
// across concurrent requests.
type callLog struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (l *callLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s%s\n", time.Now().UTC().Format(time.RFC3339), l.prefix, fmt.Sprintf(format, args...))
}

// serveUntilDone serves h on ln until ctx is cancelled (SIGINT or SIGTERM),
// then calls stopping (to release held requests) and shuts down within
// grace.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, name string, grace time.Duration, stopping func()) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	if stopping != nil {
		stopping()
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stopping %s: %w", name, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	}
	return nil
}
