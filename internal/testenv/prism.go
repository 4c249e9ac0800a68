package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Prism is a running Stoplight Prism proxy: it forwards each request to an
// upstream server and reports, in its answers' sl-violations header (with
// --errors, as an error), every request and response that breaks the
// OpenAPI description it was started with.
type Prism struct {
	// URL is where the proxy listens, on loopback.
	URL string
	cmd *exec.Cmd
}

// StartPrism starts `prism proxy --errors` of the description spec in front
// of upstream on a free loopback port, and waits up to wait for it to
// listen. Close stops it.
func StartPrism(prismBin, spec, upstream string, wait time.Duration) (*Prism, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(prismBin, "proxy", "--errors", "-h", "127.0.0.1", "-p", fmt.Sprint(port), spec, upstream)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting prism: %w", err)
	}
	p := &Prism{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	ready := make(chan struct{})
	var logMu sync.Mutex
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		closed := false
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			if log.Len() < 1<<16 {
				log.WriteString(line + "\n")
			}
			logMu.Unlock()
			if !closed && strings.Contains(line, "Prism is listening") {
				close(ready)
				closed = true
			}
		}
	}()
	select {
	case <-ready:
		return p, nil
	case <-time.After(wait):
		p.Close()
		logMu.Lock()
		defer logMu.Unlock()
		return nil, fmt.Errorf("prism did not start within %s:\n%s", wait, log.String())
	}
}

// Close stops the proxy.
func (p *Prism) Close() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}
